#!/usr/bin/env python3
"""The Python env server (deploy/python/proxima_env_server.py) seen from a raw
gRPC client with stubs generated from proto/: the handshake, seeding, the
server-side time limit, option parsing, and every error of the contract in
proto/proxima/v1/env_service.proto (codes and messages)."""

import os
import sys
import tempfile
import threading
import unittest

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "deploy", "python"))
sys.path.insert(0, HERE)

import logging  # noqa: E402

import grpc  # noqa: E402
import numpy as np  # noqa: E402

import classic_envs  # noqa: E402
import proxima_env_server  # noqa: E402
import proxima_stubs  # noqa: E402

_TMP = tempfile.TemporaryDirectory(prefix="env_server_test")
proxima_stubs.load(os.path.join(_TMP.name, "stubs"), os.path.join(ROOT, "proto"))
from proxima.v1 import env_service_pb2 as es  # noqa: E402
from proxima.v1 import env_service_pb2_grpc as es_grpc  # noqa: E402
from proxima.v1 import tensor_pb2  # noqa: E402

CREATED = []  # every CartPole the server built, to check close()


def make_tracked_cartpole(**options):
    env = classic_envs.CartPole(**options)
    CREATED.append(env)
    return env


def hello(env_id="", version=1, **options):
    return es.EnvRequest(hello=es.EnvHandshakeRequest(
        protocol_version=version, env_id=env_id,
        env_options={k: str(v) for k, v in options.items()}, client_name="env_server_test"))


def reset(seed=None):
    r = es.EnvResetRequest()
    if seed is not None:
        r.seed = seed
    return es.EnvRequest(reset=r)


def discrete(a):
    return es.EnvRequest(step=es.EnvStepRequest(action=tensor_pb2.TensorProto(
        dtype=tensor_pb2.DTYPE_INT64, data=int(a).to_bytes(8, "little", signed=True))))


def tensor(values, np_dtype, proto_dtype, shape=None):
    """values as a TensorProto: little-endian np_dtype bytes; their own shape
    unless shape is given (to send a wrong one)."""
    arr = np.asarray(values, dtype=np_dtype)
    return tensor_pb2.TensorProto(dtype=proto_dtype,
                                  shape=list(arr.shape if shape is None else shape),
                                  data=arr.tobytes())


def box(values, shape=None):
    return es.EnvRequest(step=es.EnvStepRequest(
        action=tensor(values, "<f4", tensor_pb2.DTYPE_FLOAT32, shape)))


def obs_of(tensor):
    assert tensor.dtype == tensor_pb2.DTYPE_FLOAT32
    return np.frombuffer(tensor.data, dtype="<f4").reshape(tuple(tensor.shape))


class Lockstep:
    """A Session driven one request at a time, as actors do."""

    def __init__(self, stub):
        self._requests = []
        self._cv = threading.Condition()
        self._closed = False
        self._responses = stub.Session(self._iter())

    def _iter(self):
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._requests or self._closed)
                if self._requests:
                    item = self._requests.pop(0)
                else:
                    return
            yield item

    def call(self, request):
        with self._cv:
            self._requests.append(request)
            self._cv.notify()
        return next(self._responses)

    def close(self, check=True):
        with self._cv:
            self._closed = True
            self._cv.notify()
        try:
            return list(self._responses)  # ends when the server ends the call
        except grpc.RpcError:
            if check:
                raise
            return None


class EnvServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        logging.getLogger("proxima-env-server").setLevel(logging.ERROR)
        cls.server = proxima_env_server.EnvServer(
            {"CartPole-v1": make_tracked_cartpole, "Pendulum-v1": classic_envs.make_pendulum,
             "Broken-v0": classic_envs.make_broken},
            max_sessions=8, stubs_dir=os.path.join(_TMP.name, "stubs"))
        cls.address = cls.server.start("127.0.0.1:0")
        cls.channel = grpc.insecure_channel(cls.address)
        cls.stub = es_grpc.EnvStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.stop(grace=None)

    def session(self):
        s = Lockstep(self.stub)
        self.addCleanup(s.close, check=False)
        return s

    def assertStatus(self, requests, code, text):
        with self.assertRaises(grpc.RpcError) as caught:
            list(self.stub.Session(iter(requests), timeout=10))
        self.assertEqual(caught.exception.code(), code, caught.exception.details())
        self.assertIn(text, caught.exception.details())

    def test_handshake_describes_the_env(self):
        s = self.session()
        r = s.call(hello())  # the default env is the first one
        self.assertEqual(r.WhichOneof("kind"), "hello")
        self.assertEqual(r.hello.protocol_version, 1)
        self.assertIn("python", r.hello.server_name)
        spec = r.hello.spec
        self.assertEqual(spec.id, "CartPole-v1")
        self.assertEqual(spec.action_space.discrete.n, 2)
        b = spec.observation_space.box
        self.assertEqual(list(b.shape), [4])
        self.assertEqual(b.dtype, tensor_pb2.DTYPE_FLOAT32)
        self.assertAlmostEqual(b.high[0], 4.8, places=5)
        self.assertEqual(b.low[1], -np.finfo(np.float32).max)
        self.assertEqual(spec.max_episode_steps, 500)
        self.assertTrue(spec.HasField("reward_threshold"))
        self.assertEqual(spec.reward_threshold, 475.0)

        p = self.session().call(hello("Pendulum-v1")).hello.spec
        self.assertEqual(list(p.action_space.box.shape), [1])
        self.assertEqual(list(p.action_space.box.low), [-2.0])
        self.assertFalse(p.HasField("reward_threshold"))

    def test_seeded_resets_repeat_and_unseeded_ones_continue(self):
        def first_two(seed):
            s = self.session()
            s.call(hello("CartPole-v1"))
            a = obs_of(s.call(reset(seed)).reset.observation)
            b = obs_of(s.call(reset()).reset.observation)
            return a, b

        a1, b1 = first_two(7)
        a2, b2 = first_two(7)
        np.testing.assert_array_equal(a1, a2)
        np.testing.assert_array_equal(b1, b2)
        self.assertFalse(np.array_equal(a1, b1))
        self.assertFalse(np.array_equal(a1, first_two(8)[0]))

    def test_server_applies_the_time_limit_and_wants_a_reset_after(self):
        s = self.session()
        s.call(hello("CartPole-v1", initial_state="(0, 0, 0, 0)"))
        obs = obs_of(s.call(reset()).reset.observation)
        np.testing.assert_array_equal(obs, np.zeros(4, np.float32))
        for t in range(1, 501):
            a = 1 if obs[2] + 0.5 * obs[3] > 0 else 0
            step = s.call(discrete(a)).step
            obs = obs_of(step.observation)
            self.assertFalse(step.terminated, t)
            self.assertEqual(step.truncated, t == 500, t)
            self.assertEqual(step.reward, 1.0)
        with self.assertRaises(grpc.RpcError) as caught:
            s.call(discrete(0))
        self.assertEqual(caught.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)

    def test_box_actions_and_the_env_closes_with_the_session(self):
        s = self.session()
        s.call(hello("Pendulum-v1", initial_state=[1.0, 0.0]))
        s.call(reset())
        step = s.call(box([5.0])).step  # clipped to 2 by the env
        self.assertAlmostEqual(step.reward, -(1.0 + 0.001 * 4.0), places=9)
        self.assertEqual(obs_of(step.observation).shape, (3,))

        before = len(CREATED)
        c = Lockstep(self.stub)
        c.call(hello("CartPole-v1"))
        self.assertEqual(len(CREATED), before + 1)
        self.assertEqual(c.close(), [])  # half-close: the server ends with OK
        self.assertTrue(CREATED[-1].closed)

    def test_protocol_errors(self):
        INVALID = grpc.StatusCode.INVALID_ARGUMENT
        self.assertStatus([reset()], INVALID, "first request of a session must be hello")
        self.assertStatus([hello(), hello()], INVALID, "a second hello")
        self.assertStatus([hello(), es.EnvRequest()], INVALID, "an empty request")
        self.assertStatus([hello(), discrete(0)], grpc.StatusCode.FAILED_PRECONDITION,
                          "step before the first reset")
        self.assertStatus([hello(), reset(), discrete(2)], INVALID, "outside Discrete(2)")
        self.assertStatus([hello(), reset(), box([1.0], shape=[])], INVALID,
                          "DTYPE_INT64 scalar")
        self.assertStatus([hello("Pendulum-v1"), reset(), box([1.0, 2.0])], INVALID,
                          "shape [1]")
        self.assertStatus([hello("Pendulum-v1"), reset(), box([float("nan")])], INVALID,
                          "non-finite")
        self.assertStatus([hello(version=2)], grpc.StatusCode.FAILED_PRECONDITION,
                          "this server speaks 1")
        self.assertStatus([hello("Nope-v0")], grpc.StatusCode.NOT_FOUND, "'CartPole-v1'")

    def test_env_failures_are_internal_with_the_message(self):
        self.assertStatus([hello("CartPole-v1", bogus=1)], grpc.StatusCode.INTERNAL, "bogus")
        self.assertStatus([hello("Broken-v0", fail_after=0), reset(), discrete(1)],
                          grpc.StatusCode.INTERNAL, "RuntimeError: the simulator crashed at step 1")

    def test_option_values_are_python_literals_else_strings(self):
        parse = proxima_env_server.parse_option
        self.assertEqual(parse("500"), 500)
        self.assertEqual(parse("0.1,0.2"), (0.1, 0.2))
        self.assertEqual(parse("True"), True)
        self.assertEqual(parse("rgb_array"), "rgb_array")
        self.assertEqual(parse("'quoted'"), "quoted")

    def test_sessions_are_independent(self):
        a, b = self.session(), self.session()
        a.call(hello("CartPole-v1", initial_state="(0, 0, 0, 0)"))
        b.call(hello("CartPole-v1", initial_state="(0, 0, 0, 0)"))
        a.call(reset())
        b.call(reset())
        for _ in range(5):
            oa = obs_of(a.call(discrete(1)).step.observation)
        ob = obs_of(b.call(discrete(0)).step.observation)
        self.assertGreater(oa[1], 0)  # pushed right five times
        self.assertLess(ob[1], 0)     # pushed left once


if __name__ == "__main__":
    unittest.main(verbosity=2)
