"""Word lists for the desk generator: people's names, groups, subjects, comments, rating texts."""

from __future__ import annotations

_FIRST_NAMES = (
    "Ada Alan Amara Ana Ben Bianca Carlos Chen Chloe Dana David Diego Elena Emeka Emma "
    "Farah Felix Grace Hana Hugo Ines Isaac Ivy Jamal Jana Jonas Julia Kai Kenji Lara Leo "
    "Lina Lucas Maya Mei Mia Nadia Noah Nora Omar Oscar Paula Priya Quinn Rafael Rosa Sam "
    "Sara Sofia Tariq Theo Uma Victor Wei Yara Yusuf Zoe"
)
FIRST_NAMES = _FIRST_NAMES.split()

_LAST_NAMES = (
    "Abbott Adeyemi Alvarez Andersen Baker Bauer Becker Brooks Castillo Chen Costa Dubois "
    "Eriksen Fischer Garcia Gomez Haddad Hansen Ibrahim Ito Jensen Kaur Khan Kim Kowalski "
    "Larsen Lopez Martin Meyer Moreau Murphy Nakamura Nguyen Novak Okafor Olsen Patel "
    "Perez Petrov Quist Rossi Santos Schmidt Silva Singh Sousa Tanaka Torres Varga Wagner "
    "Walsh Weber Yilmaz Young Zhang"
)
LAST_NAMES = _LAST_NAMES.split()

# The people who work on every desk that shares staff (`DeskSpec.shared_staff`), in order: the
# same names, so the same addresses, whatever the seed. Their first names are none of
# FIRST_NAMES, so no desk draws one of them for anybody else.
SHARED_STAFF = (
    "Aiko Lindqvist",
    "Bruno Ferreira",
    "Camille Laurent",
    "Dmitri Volkov",
    "Esther Mensah",
    "Fatima Rahman",
    "Gustav Holm",
    "Ingrid Nilsson",
    "Joao Pereira",
    "Leila Haddad",
    "Marek Dvorak",
    "Ngozi Eze",
)

GROUP_NAMES = ("Billing", "Technical Support", "Onboarding", "Returns", "Tier 2", "Enterprise")

TIME_ZONES = (
    "Eastern Time (US & Canada)",
    "Pacific Time (US & Canada)",
    "London",
    "Berlin",
    "Lisbon",
    "Singapore",
)

SUBJECTS = (
    "Cannot log in to my account",
    "Refund for order",
    "Invoice shows the wrong amount",
    "How do I export my data?",
    "App crashes on startup",
    "Package arrived damaged",
    "Change of billing address",
    "Two-factor code never arrives",
    "Upgrade to the annual plan",
    "Password reset link expired",
    "Question about the API rate limit",
    "Where is my order?",
    "Cancel my subscription",
    "Integration stopped syncing",
    "Wrong item delivered",
)

CUSTOMER_LINES = (
    "Hi, I still have this problem, can you help?",
    "Thanks for the quick answer.",
    "This is not solved, it happened again this morning.",
    "Please see the attached screenshot.",
    "Any update on this?",
)

AGENT_LINES = (
    "Thanks for reaching out, I am looking into this now.",
    "Could you send us the order number, please?",
    "I have passed this on to the right team.",
    "This should be fixed now, let us know if anything else comes up.",
    "I have issued the refund, it will show in 3-5 business days.",
)

GOOD_COMMENTS = ("Great help, thank you!", "Fast and friendly.", "Solved in minutes.", "")
BAD_COMMENTS = ("Took far too long.", "Still not fixed.", "Nobody read my message.", "")

# Zendesk's legacy CSAT bad-rating reasons: (reason_code, reason text).
BAD_REASONS = (
    (5, "The issue took too long to resolve"),
    (6, "The issue was not resolved"),
    (7, "The agent's knowledge is unsatisfactory"),
    (8, "The agent's attitude was unsatisfactory"),
    (100, "Some other reason"),
)
NO_REASON = (0, "No reason provided")

TAGS = ("vip", "billing", "bug", "refund", "urgent", "how_to", "shipping", "account")
