"""Inference engines behind one protocol (see base.py); pick one by name with registry.create_engine."""
