"""Headless preview and condition renders (depth, mask, keypoints) of `HOISequence`.

The renderers land with issue 8; this package exports nothing yet.
"""

__all__: list[str] = []
