"""Signals between domains, so a domain reacts to another without importing its services.

Receivers run inside the sender's transaction: what they change commits or rolls back with it.
"""

from blinker import Namespace

signals = Namespace()

#: sent with ``version`` (the draft about to be published) and ``previous`` (the version before it,
#: or None) inside the transaction, under the consultation's lock, before the draft is frozen; a
#: receiver refuses by raising ``RuleViolation`` (amendments: every changed, added and removed
#: section must be explained by citations or a reason)
version_publishing = signals.signal("version-publishing")

#: sent with ``version`` (a draft) and ``renamed`` (old key -> new key) when sections of the draft
#: change key while staying the same rows (the author corrected the matching with the previous
#: version): what another domain files under a section key of the draft follows the section
section_keys_changed = signals.signal("section-keys-changed")

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
