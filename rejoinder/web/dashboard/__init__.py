"""The moderators' dashboard at ``/dashboard/``: server-rendered pages over the moderation API."""
