#!/usr/bin/env python3
"""Batched sessions of the Python env server (deploy/python/
proxima_env_server.py, proxima_env_batch.py) from a raw gRPC client: a hello
with num_envs = N steps N env columns per request with same-step auto-reset,
and gives exactly what N single-env sessions give when the client resets
them itself; the errors of the contract (wrong column count, actions outside
the space or non-finite, an env that raises) name the column."""

import os
import sys
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import grpc  # noqa: E402
import numpy as np  # noqa: E402

import env_server_test as base  # noqa: E402  (stubs, Lockstep, request helpers)
from env_server_test import es, obs_of, tensor_pb2  # noqa: E402


def hello(env_id, num_envs, **options):
    request = base.hello(env_id, **options)
    request.hello.num_envs = num_envs
    return request


def batch_reset(seed=None):
    r = es.EnvBatchResetRequest()
    if seed is not None:
        r.seed = seed
    return es.EnvRequest(batch_reset=r)


def batch_discrete(actions, shape=None):
    return es.EnvRequest(batch_step=es.EnvBatchStepRequest(
        actions=base.tensor(actions, "<i8", tensor_pb2.DTYPE_INT64, shape)))


def batch_box(actions):
    return es.EnvRequest(batch_step=es.EnvBatchStepRequest(actions=base.box(actions).step.action))


def vector(tensor, dtype):
    return np.frombuffer(tensor.data, dtype=dtype).reshape(tuple(tensor.shape))


class EnvBatchTest(unittest.TestCase):
    # The server fixture and helpers of env_server_test (not its tests).
    setUpClass = base.EnvServerTest.__dict__["setUpClass"]
    tearDownClass = base.EnvServerTest.__dict__["tearDownClass"]
    session = base.EnvServerTest.session
    assertStatus = base.EnvServerTest.assertStatus

    def test_handshake_echoes_num_envs_and_seeds_column_i_with_seed_plus_i(self):
        s = self.session()
        r = s.call(hello("CartPole-v1", 3)).hello
        self.assertEqual(r.num_envs, 3)
        self.assertEqual(r.spec.action_space.discrete.n, 2)
        obs = obs_of(s.call(batch_reset(7)).batch_reset.observations)
        self.assertEqual(obs.shape, (3, 4))
        for i in range(3):
            single = self.session()
            single.call(base.hello("CartPole-v1"))
            np.testing.assert_array_equal(obs[i], obs_of(single.call(base.reset(7 + i))
                                                         .reset.observation))
        # A single-env hello still gets num_envs 0 (the v1 exchange).
        self.assertEqual(self.session().call(base.hello("CartPole-v1")).hello.num_envs, 0)

    def test_same_step_auto_reset_matches_single_sessions_reset_by_the_client(self):
        n = 3
        batch = self.session()
        batch.call(hello("CartPole-v1", n))
        obs = obs_of(batch.call(batch_reset(11)).batch_reset.observations)
        singles = []
        for i in range(n):
            s = self.session()
            s.call(base.hello("CartPole-v1"))
            s.call(base.reset(11 + i))
            singles.append(s)
        rng = np.random.default_rng(3)
        episodes = 0
        for t in range(120):
            actions = rng.integers(0, 2, size=n)
            step = batch.call(batch_discrete(actions)).batch_step
            obs = obs_of(step.observations)
            rewards = vector(step.rewards, "<f8")
            terminated = vector(step.terminated, np.bool_)
            truncated = vector(step.truncated, np.bool_)
            finals = obs_of(step.final_observations)
            self.assertEqual(finals.shape, (int(np.sum(terminated | truncated)), 4))
            k = 0
            for i, s in enumerate(singles):
                one = s.call(base.discrete(actions[i])).step
                self.assertEqual(rewards[i], one.reward)
                self.assertEqual(terminated[i], one.terminated)
                self.assertEqual(truncated[i], one.truncated)
                if one.terminated or one.truncated:
                    np.testing.assert_array_equal(finals[k], obs_of(one.observation))
                    k += 1
                    episodes += 1
                    np.testing.assert_array_equal(obs[i], obs_of(s.call(base.reset())
                                                                 .reset.observation))
                else:
                    np.testing.assert_array_equal(obs[i], obs_of(one.observation))
        self.assertGreater(episodes, 5)  # random CartPole episodes last ~20 steps

    def test_time_limit_truncates_and_auto_resets(self):
        s = self.session()
        s.call(hello("CartPole-v1", 2, initial_state="(0, 0, 0, 0)"))
        obs = obs_of(s.call(batch_reset()).batch_reset.observations)
        for t in range(1, 501):
            actions = [1 if o[2] + 0.5 * o[3] > 0 else 0 for o in obs]
            step = s.call(batch_discrete(actions)).batch_step
            obs = obs_of(step.observations)
            self.assertFalse(vector(step.terminated, np.bool_).any(), t)
            self.assertEqual(list(vector(step.truncated, np.bool_)), [t == 500] * 2, t)
        self.assertEqual(obs_of(step.final_observations).shape, (2, 4))
        np.testing.assert_array_equal(obs, np.zeros((2, 4), np.float32))  # the next episode

    def test_box_columns(self):
        s = self.session()
        s.call(hello("Pendulum-v1", 2, initial_state=[1.0, 0.0]))
        s.call(batch_reset())
        step = s.call(batch_box([[5.0], [0.0]])).batch_step  # column 0 clipped to 2
        np.testing.assert_allclose(vector(step.rewards, "<f8"),
                                   [-(1.0 + 0.001 * 4.0), -1.0], rtol=1e-12)
        self.assertEqual(obs_of(step.observations).shape, (2, 3))

    def test_errors_name_the_column(self):
        INVALID = grpc.StatusCode.INVALID_ARGUMENT
        PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION
        self.assertStatus([hello("CartPole-v1", 3), batch_reset(), batch_discrete([0, 1])],
                          INVALID, "shape [3]")
        self.assertStatus([hello("CartPole-v1", 3), batch_reset(), batch_discrete([0, 1, 2])],
                          INVALID, "column 2: action 2 is outside Discrete(2)")
        self.assertStatus([hello("Pendulum-v1", 2), batch_reset(),
                           batch_box([[0.5], [float("nan")]])], INVALID,
                          "column 1: the action has non-finite values")
        self.assertStatus([hello("Pendulum-v1", 2), batch_reset(), batch_box([0.5, 0.5])],
                          INVALID, "shape [2, 1]")
        self.assertStatus([hello("CartPole-v1", 2), batch_discrete([0, 1])], PRECONDITION,
                          "before the first batch_reset")
        self.assertStatus([hello("CartPole-v1", 2), base.reset()], PRECONDITION,
                          "reset in a batched session of 2 env columns")
        self.assertStatus([base.hello("CartPole-v1"), batch_reset()], PRECONDITION,
                          "batch_reset in a single-env session")
        self.assertStatus([hello("Broken-v0", 2, fail_after=0), batch_reset(),
                           batch_discrete([1, 1])], grpc.StatusCode.INTERNAL,
                          "column 0: raised in step: RuntimeError: the simulator crashed at "
                          "step 1")

    def test_every_column_env_closes_with_the_session(self):
        before = len(base.CREATED)
        c = base.Lockstep(self.stub)
        c.call(hello("CartPole-v1", 4))
        self.assertEqual(len(base.CREATED), before + 4)
        self.assertEqual(c.close(), [])
        self.assertTrue(all(env.closed for env in base.CREATED[before:]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
