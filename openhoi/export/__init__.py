"""Exporters of `HOISequence`: npz, glTF (Blender), BVH, plain meshes.

The exporters land with issue 8; this package exports nothing yet.
"""

__all__: list[str] = []
