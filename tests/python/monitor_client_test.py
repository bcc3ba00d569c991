#!/usr/bin/env python3
"""The published protos as the contract: Python stubs generated from proto/
with Debian's protoc and grpc_python_plugin read Monitor.GetStatus (and the
standard health service) of a real training learner, and the numbers agree
with `proxima status --json` taken right before and right after: identity
fields equal, counters between the two, and the chunk accounting invariant
exact.

  monitor_client_test.py --bin-dir build/bin --proto-dir proto
"""

import argparse
import glob
import importlib.util
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.dont_write_bytecode = True
ARGS = None

# Counters that only grow while a learner trains.
COUNTERS = ["policy_version", "env_steps", "updates", "episodes", "chunks_received",
            "chunks_trained", "transitions_received", "transitions_trained", "sync_rounds"]
# Fields that name the run and never change during it.
IDENTITY = ["env_id", "learner_instance_id", "mode", "run_dir", "device", "started_at"]


def generate_stubs(proto_dir, out_dir):
    """The documented one-liner: protoc + grpc_python_plugin over proto/."""
    plugin = shutil.which("grpc_python_plugin") or "/usr/bin/grpc_python_plugin"
    files = sorted(glob.glob(os.path.join(proto_dir, "proxima", "v1", "*.proto")))
    cmd = ["protoc", "-I", proto_dir, "--python_out=" + out_dir, "--grpc_python_out=" + out_dir,
           "--plugin=protoc-gen-grpc_python=" + plugin] + files
    subprocess.run(cmd, check=True)
    # grpc.health.v1 messages only, loaded from their file: a generated
    # package named `grpc` would clash with grpcio's.
    health_dir = os.path.join(out_dir, "health")
    os.makedirs(health_dir)
    subprocess.run(["protoc", "-I", os.path.join(proto_dir, "grpc", "health", "v1"),
                    "--python_out=" + health_dir, "health.proto"], check=True)
    spec = importlib.util.spec_from_file_location(
        "health_pb2", os.path.join(health_dir, "health_pb2.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Process:
    """A child whose stdout lines are read by a thread into a queue."""

    def __init__(self, argv, log_path):
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def read_line(self, timeout):
        return self.lines.get(timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class MonitorClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="monitor_client_test")
        stubs = os.path.join(cls.tmp, "stubs")
        os.makedirs(stubs)
        global grpc, monitor_pb2, monitor_grpc, config_pb2, health_pb2, json_format
        health_pb2 = generate_stubs(ARGS.proto_dir, stubs)
        sys.path.insert(0, stubs)
        import grpc
        from google.protobuf import json_format
        from proxima.v1 import config_pb2
        from proxima.v1 import monitor_service_pb2 as monitor_pb2
        from proxima.v1 import monitor_service_pb2_grpc as monitor_grpc

        cls.run_dir = os.path.join(cls.tmp, "run")
        cls.learner = Process(
            [os.path.join(ARGS.bin_dir, "proxima-learner"), "--env", "CartPole-v1",
             "--listen", "127.0.0.1:0", "--run-dir", cls.run_dir, "--total-steps", "100000000",
             "--quiet"], os.path.join(cls.tmp, "learner.log"))
        line = cls.learner.read_line(timeout=60)
        prefix = "proxima-learner: listening on "
        assert line.startswith(prefix), line
        cls.address = line[len(prefix):]
        cls.actor = Process(
            [os.path.join(ARGS.bin_dir, "proxima-actor"), "--learner", cls.address,
             "--name", "python-test-actor", "--num-envs", "2"],
            os.path.join(cls.tmp, "actor.log"))
        cls.channel = grpc.insecure_channel(cls.address)
        cls.monitor = monitor_grpc.MonitorStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        actor_rc = cls.actor.stop()
        learner_rc = cls.learner.stop()
        if actor_rc == 0 and learner_rc == 0:
            shutil.rmtree(cls.tmp, ignore_errors=True)
        else:
            print("logs kept in %s (actor exit %s, learner exit %s)" % (cls.tmp, actor_rc,
                                                                        learner_rc))

    def status(self):
        return self.monitor.GetStatus(monitor_pb2.GetStatusRequest(include_actors=True),
                                      timeout=10)

    def cli_status(self):
        out = subprocess.run([os.path.join(ARGS.bin_dir, "proxima"), "status", "--learner",
                              self.address, "--json"], stdout=subprocess.PIPE, check=True,
                             text=True).stdout
        return json.loads(out)

    def wait_for_training(self, updates, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.status()
            if st.updates >= updates and st.episodes > 0:
                return st
            time.sleep(0.1)
        self.fail("the learner made fewer than %d updates in %ds" % (updates, timeout))

    def test_address_file_matches_the_listening_line(self):
        with open(os.path.join(self.run_dir, "learner.addr")) as f:
            self.assertEqual(f.read().strip(), self.address)

    def test_health_service_reports_serving(self):
        check = self.channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
            response_deserializer=health_pb2.HealthCheckResponse.FromString)
        reply = check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        self.assertEqual(reply.status, health_pb2.HealthCheckResponse.SERVING)

    def test_get_status_agrees_with_proxima_status_json(self):
        self.wait_for_training(updates=2)
        before = self.cli_status()
        st = self.status()
        after = self.cli_status()
        py = json_format.MessageToDict(st, preserving_proto_field_name=True,
                                       including_default_value_fields=True)

        # Same schema both ways: every field the C++ JSON printed, Python decoded.
        optional = {"last_checkpoint"}  # appears once the first checkpoint is written
        self.assertEqual(set(py) - optional, set(after) - optional)

        for key in IDENTITY:
            self.assertEqual(py[key], before[key], key)
            self.assertEqual(py[key], after[key], key)
        self.assertEqual(st.env_id, "CartPole-v1")
        self.assertEqual(st.run_dir, self.run_dir)
        self.assertEqual(config_pb2.TrainingMode.Name(st.mode), before["mode"])
        self.assertEqual(st.mode, config_pb2.TRAINING_MODE_ASYNC)

        for key in COUNTERS:
            # proto3 JSON prints 64-bit integers as strings.
            lo, mid, hi = int(before[key]), getattr(st, key), int(after[key])
            self.assertLessEqual(lo, mid, key)
            self.assertLessEqual(mid, hi, key)
        self.assertGreater(st.env_steps, 0)
        self.assertGreater(st.policy_version, 0)

        dropped = sum(d.chunks for d in st.chunks_dropped)
        self.assertEqual(st.chunks_received, st.chunks_trained + dropped + st.chunks_queued)
        dropped_t = sum(d.transitions for d in st.chunks_dropped)
        self.assertEqual(st.transitions_received,
                         st.transitions_trained + dropped_t + st.transitions_queued)

        names = [a.name for a in st.actors]
        self.assertIn("python-test-actor", names)
        actor = st.actors[names.index("python-test-actor")]
        self.assertEqual(actor.num_envs, 2)
        self.assertEqual([a["name"] for a in after["actors"]], names)
        self.assertGreater(st.last_update.ByteSize(), 0)
        self.assertIn("learning_rate", st.hyperparameters)
        self.assertEqual(st.hyperparameters["learning_rate"],
                         after["hyperparameters"]["learning_rate"])

    def test_watch_metrics_streams_updates_in_order(self):
        self.wait_for_training(updates=1)
        stream = self.monitor.WatchMetrics(monitor_pb2.WatchMetricsRequest(after_update=0),
                                           timeout=60)
        seen = []
        for update in stream:
            seen.append(update.update)
            if len(seen) == 3:
                stream.cancel()
                break
        self.assertEqual(seen, sorted(seen))
        self.assertEqual(len(set(seen)), 3)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--proto-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    ARGS.bin_dir = os.path.abspath(ARGS.bin_dir)
    ARGS.proto_dir = os.path.abspath(ARGS.proto_dir)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
