#!/usr/bin/python3
"""Expected values for tests/common/reward_scaler_test.cc.

An independent NumPy model of return-based reward scaling as Gymnasium's
NormalizeReward does it (docs/training.md "The PPO core": "optional
return-based reward scaling"; common/running_stats.h):

  G[e] <- gamma * G[e] * (1 - terminated[e]) + r[e]      (one G per env column)
  fold the E values G[:] into a running mean/var (Chan et al. parallel update,
    count starting at 1e-4, mean 0, var 1)
  r'[e] = clip(r[e] / sqrt(var + 1e-8), -clip, clip)      (no centering)

Run: /usr/bin/python3 tests/common/reward_scaler_expected.py
and paste the printed table into the test.
"""
import numpy as np

GAMMA = 0.9
CLIP = 3.0
# Rows are steps, columns env columns.
REWARDS = np.array([
    [1.0, -2.0],
    [0.5, 3.0],
    [2.0, 1.0],
    [-1.0, 0.0],
    [4.0, -0.5],
    [0.25, 10.0],
    [1.5, -12.0],
    [-3.0, 2.0],
])
TERMINATED = np.array([
    [0, 0],
    [0, 1],
    [1, 0],
    [0, 0],
    [0, 0],
    [0, 0],
    [0, 1],
    [0, 0],
])


def main():
    mean, var, count = 0.0, 1.0, 1e-4
    g = np.zeros(REWARDS.shape[1])
    print("// step: scaled rewards, running var of G after the step")
    for t in range(REWARDS.shape[0]):
        g = GAMMA * g * (1 - TERMINATED[t]) + REWARDS[t]
        b_mean, b_var, n = g.mean(), g.var(), g.size
        delta = b_mean - mean
        total = count + n
        mean = mean + delta * n / total
        var = (var * count + b_var * n + delta ** 2 * count * n / total) / total
        count = total
        scaled = np.clip(REWARDS[t] / np.sqrt(var + 1e-8), -CLIP, CLIP)
        print("{%.9g, %.9g},  // var %.9g, G = [%g, %g]" %
              (scaled[0], scaled[1], var, g[0], g[1]))


if __name__ == "__main__":
    main()
