"""Temporal workflows that follow the workflow guide; README.md maps each rule to its code."""
