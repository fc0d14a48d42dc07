"""Model serving: real-time holder and service, caching, optimisation, batch and streaming scoring.

Everything here is generic: it talks to the core's ``ModelRegistry`` and ``Predictor`` ports and takes
feature builders by injection, so it never imports taxi specifics.
"""
