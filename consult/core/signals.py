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

# ---- what participants are told about (the notifications domain records events from these) ----

#: sent with ``contribution`` (just added, flushed) and ``actor`` (its author): visible or
#: waiting for a moderator (``contribution.moderation_state``)
contribution_posted = signals.signal("contribution-posted")

#: sent with ``contribution`` (it was waiting for a moderator and is now shown) and ``actor``
#: (the moderator)
contribution_approved = signals.signal("contribution-approved")

#: sent with ``contribution`` (just hidden, or hidden again for another public reason),
#: ``actor`` (the moderator; None when reports hid it) and ``reason`` (the public one)
contribution_hidden = signals.signal("contribution-hidden")

#: sent with ``contribution`` (hidden, and now shown again) and ``actor`` (the moderator)
contribution_restored = signals.signal("contribution-restored")

#: sent with ``contribution`` (an amendment), ``actor`` (who answered), ``decision`` and ``reason``
#: when its answer is given or changed
amendment_answered = signals.signal("amendment-answered")

#: sent with ``contribution`` (an amendment) and ``actor`` when someone joins it as a co-supporter
amendment_supported = signals.signal("amendment-supported")

#: sent with ``contribution`` (an accepted amendment) and ``version`` (just published, citing it)
amendment_incorporated = signals.signal("amendment-incorporated")

#: sent with ``contribution``, ``version`` (just published) and ``section_keys`` (the sections
#: whose change cites it), for each cited contribution that is not an amendment it incorporates
cited_in_change = signals.signal("cited-in-change")

#: sent with ``version`` (just published) and ``placements``: for each annotation placed anew
#: (not one already orphaned before), ``(contribution_id, state, section_key)``
annotations_reanchored = signals.signal("annotations-reanchored")

#: sent with ``consultation`` (its new ``state`` set and flushed), ``previous`` (the state it
#: left) and ``actor`` (None when the schedule opened or closed it)
consultation_state_changed = signals.signal("consultation-state-changed")
