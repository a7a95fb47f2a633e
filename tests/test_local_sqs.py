"""The local SQS starts without pytest (the demo uses it): a plain Python process starts moto's server on
127.0.0.1, a queue there takes and gives back a message through boto3 configured the standard AWS way, and the
server is gone once the block ends."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

SCRIPT = """
import boto3, httpx
from pathlib import Path
from linkolis_host.local_sqs import aws_environment, environ, local_sqs

with local_sqs() as endpoint, environ(aws_environment(endpoint, Path("."))):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="an order changed")
    [message] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
    print(endpoint, message["Body"])
"""


def test_a_plain_python_process_starts_moto_sends_and_receives_a_message_and_stops_it(tmp_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    endpoint, body = done.stdout.strip().split(" ", 1)
    assert endpoint.startswith("http://127.0.0.1:") and body == "an order changed"
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{endpoint}/moto-api/", timeout=2)


def test_the_local_sqs_module_needs_no_pytest():
    check = "import sys, linkolis_host.local_sqs; print('pytest' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
