"""Mail: the outbox, its sender, the development mailbox, and composing messages.

It knows no feature: features import it and register how their mail is built.
"""
