#!/usr/bin/env python3
"""`moto_server` with its SQS FIFO emulation fixed, so the messages of a group keep their order.

moto 5.2.5 holds back a FIFO message group while a message of it is "pending", but a message stays
pending after its visibility timeout runs out until a receive visits it, and a receive that visits a
group's messages one by one can skip the head (another message of the group still counts as pending)
and deliver a later one. Seen here: after a failed batch held a context's first two prompts, the second
was delivered before the first. SQS never delivers a message of a group before the ones sent earlier
are deleted. Here a receive sees, of each FIFO group, only its oldest message (the others wait behind
it whatever their visibility), and a group counts as in flight only through pending messages that are
still invisible.

Its long poll is fixed too. moto 5.2.5 takes the set of groups in flight once, when a receive starts,
and then loops for the whole wait: a message whose group was in flight at that moment is not handed
out by that receive even after the message before it is deleted, and the loop spins on the CPU the
while, because a visible message wakes it at once. Seen here: a context's next prompt waited about
0.8 s in the queue with one client. SQS hands it out as soon as its group is free. Here a long poll is
a series of receives that do not wait, and between them it sleeps until a message could be handed out
(a delete or a visibility change wakes it, and it looks again every 50 ms for timeouts that run out).

And FIFO deduplication: moto drops a message whose deduplication id matches one still in the queue;
SQS drops it for five minutes after the first was sent, deleted or not. The outbox sweep can send a
task's message again just after the first was handled and deleted; SQS drops that repeat, and so
does this.

Run it as `moto_server` is run: `moto_server.py -H HOST -p PORT`.
"""
import sys
import threading
import time

from moto.server import main
from moto.sqs import models

_visible = models.Queue.messages.fget


def _groups_in_flight(queue):
    # A copy: other request threads add to and remove from the set meanwhile.
    return {m.group_id for m in list(queue._pending_messages) if m.group_id is not None and not m.visible}


def _visible_heads(queue):
    visible = _visible(queue)
    if not queue.fifo_queue:
        return visible
    heads = {}
    for message in queue._messages:
        if message.group_id is not None:
            heads.setdefault(message.group_id, message)
    return [m for m in visible if m.group_id is None or heads.get(m.group_id) is m]


def _deliverable(queue):
    in_flight = _groups_in_flight(queue) if queue.fifo_queue else set()
    return any(m.group_id is None or m.group_id not in in_flight for m in _visible_heads(queue))


_receive = models.SQSBackend.receive_message


def _receive_message(self, queue_name, count, wait_seconds_timeout, visibility_timeout, message_attribute_names=None):
    queue = self.get_queue(queue_name)
    until = time.monotonic() + (wait_seconds_timeout or 0)
    while True:
        received = _receive(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
        left = until - time.monotonic()
        if received or left <= 0:
            return received
        with queue._messages_lock:
            queue._messages_lock.wait_for(lambda: _deliverable(queue), timeout=min(left, 0.05))


def _waking(method):
    def changed(queue, *args, **kwargs):
        try:
            return method(queue, *args, **kwargs)
        finally:
            with queue._messages_lock:
                queue._messages_lock.notify_all()

    return changed


def _waking_backend(method):
    def changed(self, queue_name, *args, **kwargs):
        try:
            return method(self, queue_name, *args, **kwargs)
        finally:
            queue = self.get_queue(queue_name)
            with queue._messages_lock:
                queue._messages_lock.notify_all()

    return changed


DEDUPLICATION_SECONDS = 300
_add = models.Queue.add_message
_send = models.SQSBackend.send_message
_sending = threading.local()


def _add_message(queue, message):
    # Only a send is deduplicated (a message moved to its dead-letter queue is not).
    if getattr(_sending, "now", False) and queue.fifo_queue and message.deduplication_id:
        now = time.monotonic()
        with queue._messages_lock:
            seen = queue.__dict__.setdefault("_deduplication_ids", {})
            for dedup_id in [d for d, at in seen.items() if now - at >= DEDUPLICATION_SECONDS]:
                del seen[dedup_id]
            if message.deduplication_id in seen:
                return
            seen[message.deduplication_id] = now
    _add(queue, message)


def _send_message(self, *args, **kwargs):
    _sending.now = True
    try:
        return _send(self, *args, **kwargs)
    finally:
        _sending.now = False


models.Queue.add_message = _add_message
models.SQSBackend.send_message = _send_message
models.Queue.pending_message_groups = property(_groups_in_flight)
models.Queue.messages = property(_visible_heads)
models.SQSBackend.receive_message = _receive_message
models.Queue.delete_message = _waking(models.Queue.delete_message)
models.SQSBackend.change_message_visibility = _waking_backend(models.SQSBackend.change_message_visibility)

if __name__ == "__main__":
    sys.exit(main())
