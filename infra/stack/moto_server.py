#!/usr/bin/env python3
"""`moto_server` with its SQS FIFO emulation fixed, so the messages of a group keep their order.

moto 5.2.5 holds back a FIFO message group while a message of it is "pending", but a message stays
pending after its visibility timeout runs out until a receive visits it, and a receive that visits a
group's messages one by one can skip the head (another message of the group still counts as pending)
and deliver a later one. Seen here: after a failed batch held a context's first two prompts, the second
was delivered before the first. SQS never delivers a message of a group before the ones sent earlier
are deleted. Here a receive sees, of each FIFO group, only its oldest message (the others wait behind
it whatever their visibility), and a group counts as in flight only through pending messages that are
still invisible. Run it as `moto_server` is run: `moto_server.py -H HOST -p PORT`.
"""
import sys

from moto.server import main
from moto.sqs import models

_visible = models.Queue.messages.fget


def _groups_in_flight(queue):
    return {m.group_id for m in queue._pending_messages if m.group_id is not None and not m.visible}


def _visible_heads(queue):
    visible = _visible(queue)
    if not queue.fifo_queue:
        return visible
    heads = {}
    for message in queue._messages:
        if message.group_id is not None:
            heads.setdefault(message.group_id, message)
    return [m for m in visible if m.group_id is None or heads.get(m.group_id) is m]


models.Queue.pending_message_groups = property(_groups_in_flight)
models.Queue.messages = property(_visible_heads)

if __name__ == "__main__":
    sys.exit(main())
