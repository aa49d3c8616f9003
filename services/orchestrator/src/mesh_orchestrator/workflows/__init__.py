"""Saved workflows: named, versioned plan templates with declared parameters."""
