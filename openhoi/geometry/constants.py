"""Geometric thresholds used by the distance kernels and the physics metrics (metres).

Every tolerance lives here with the reason for its value, so no literal such as 0.005
appears in logic (STYLE.md §2.11).
"""

from __future__ import annotations

__all__ = [
    "AFFORDANCE_CONTACT_RADIUS_M",
    "AFFORDANCE_MASK_THRESHOLD",
    "CONTACT_LABEL_THRESHOLD_M",
    "CONTACT_THRESHOLD_M",
    "GRADIENT_FALLBACK_DISTANCE_M",
    "HOLDING_MIN_ZONES",
    "MAX_QUERY_DISTANCE_M",
    "VOLUME_VOXEL_PITCH_M",
    "WEAK_MASK_PEAK_FRACTION",
    "WINDING_NUMBER_INSIDE_THRESHOLD",
]

#: A hand vertex whose signed distance to the object is below this counts as touching it
#: (contact ratio, affordance contact). 5 mm absorbs MANO's skin-surface approximation and
#: the object mesh's tessellation error, as in GRAB / Text2HOI contact evaluation.
CONTACT_THRESHOLD_M = 0.005

#: A hand "holds" the object in a frame when at least this many of its contact zones (palm,
#: thumb, index, middle, ring, pinky) touch it: every grasp type of SynthHOI needs two
#: touching zones except a poke or a flat palm, which push rather than hold; one
#: brushing fingertip is contact, not a hold.
HOLDING_MIN_ZONES = 2

#: Dataset contact labels (per-point "near the hand" masks used to derive affordance masks
#: from HOI data) use a looser 2 cm radius: the labels mark the region the hand acts on,
#: not the exact skin contact patch.
CONTACT_LABEL_THRESHOLD_M = 0.02

#: A contacting hand vertex "touches the affordance region" when its closest object surface
#: point lies within 1 cm of an affordance point: affordance clouds are 2048 points over
#: the object, i.e. roughly 0.5–1 cm spacing on hand-sized objects.
AFFORDANCE_CONTACT_RADIUS_M = 0.01

#: Affordance masks are per-point floats in [0, 1]; points at or above this are "in" the region.
AFFORDANCE_MASK_THRESHOLD = 0.5
#: A mask whose peak is below the threshold (a low-confidence planner mask) is read as the
#: points at or above this fraction of its peak: its own top region (refine.affordance_region).
WEAK_MASK_PEAK_FRACTION = 0.5

#: Voxel pitch of the hand–object intersection volume estimate. 2 mm resolves finger-sized
#: overlaps (a 1 cm³ overlap is 125 voxels) while keeping 150 frames to a few seconds on CPU.
VOLUME_VOXEL_PITCH_M = 0.002

#: A point is inside an open mesh (e.g. the MANO hand, open at the wrist) when its
#: generalised winding number exceeds one half (Jacobson et al. 2013): 1 inside, 0 outside,
#: and the holes only blur it locally.
WINDING_NUMBER_INSIDE_THRESHOLD = 0.5

#: Default search radius of the mesh queries. Large enough that every point of a scene at
#: metre scale gets its exact closest point; Warp's BVH query is no slower for near-surface
#: points with a large radius (measured: see BENCHMARKS.md).
MAX_QUERY_DISTANCE_M = 1.0e6

#: Below this point-to-surface distance the direction (p − closest)/|p − closest| is
#: numerically meaningless in float32, so the sdf gradient falls back to the face normal.
GRADIENT_FALLBACK_DISTANCE_M = 1.0e-7
