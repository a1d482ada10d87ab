"""Moderation of prompts (before generation) and images (after generation, before storage).

``text`` and ``image`` have no Django imports; ``policy`` and ``checks`` join them to settings and
projects.
"""
