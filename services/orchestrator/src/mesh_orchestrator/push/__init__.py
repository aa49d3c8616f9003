"""Pushing run state changes out: webhooks and A2A push notifications (``notifier``, ``delivery``)."""
