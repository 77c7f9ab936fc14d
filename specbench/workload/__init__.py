"""Workloads: prompts plus precomputed arrival times, built from the config and a seed."""
