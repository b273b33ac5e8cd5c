"""Signals between domains, so a domain reacts to another without importing its services.

Receivers run inside the sender's transaction: what they change commits or rolls back with it.
"""

from blinker import Namespace

signals = Namespace()

#: sent with ``version`` (the Version just published) and ``previous`` (the one before, or None)
version_published = signals.signal("version-published")

#: sent with ``consultation`` just before it is concluded, inside the transaction and under its
#: row lock; a receiver refuses by raising ``RuleViolation`` (amendments: every amendment above
#: the response threshold must be answered first)
consultation_concluding = signals.signal("consultation-concluding")

#: sent with ``contribution`` (the item voted on, or None for a section) when a vote on the
#: consultation is cast or withdrawn (statements: the opinion map is then stale)
vote_changed = signals.signal("vote-changed")

#: sent with ``event`` (a notifications Event just fanned out) and ``made`` (how many
#: notifications this run made): mail delivery picks up the ones to send at once
notifications_made = signals.signal("notifications-made")
