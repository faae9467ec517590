"""Runs moto's server with each DynamoDB operation applied atomically.

DynamoDB applies a conditional write (and a transaction) atomically: a concurrent writer sees it
whole or not at all. moto's server handles requests on several threads and its DynamoDB model
does not lock, so two concurrent conditional writes can both pass their condition. Baton's tests
race writers on purpose (deduplication, idempotency, assignment), so this runs moto with its
DynamoDB operations serialized, which is what the real service guarantees. Everything else
(SQS long polling included) stays concurrent.

Usage: python moto_server.py -H 127.0.0.1 -p PORT   (the same arguments as moto_server)
"""

import functools
import sys
import threading

from moto import server
from moto.dynamodb.models import DynamoDBBackend

_LOCK = threading.RLock()


def _atomic(operation):
    @functools.wraps(operation)
    def wrapper(*args, **kwargs):
        with _LOCK:
            return operation(*args, **kwargs)

    return wrapper


for _name in ("get_item", "put_item", "update_item", "delete_item", "query", "transact_write_items", "batch_write_item"):
    if hasattr(DynamoDBBackend, _name):
        setattr(DynamoDBBackend, _name, _atomic(getattr(DynamoDBBackend, _name)))

if __name__ == "__main__":
    sys.exit(server.main())
