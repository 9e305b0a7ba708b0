"""Pure tensor geometry used by every stage: rotations, sampling, distance kernels, metrics."""

from openhoi.geometry.constants import (
    CONTACT_LABEL_THRESHOLD_M,
    CONTACT_THRESHOLD_M,
    VOLUME_VOXEL_PITCH_M,
)
from openhoi.geometry.distance import (
    DistanceMesh,
    DistanceOutput,
    NearestOutput,
    distance_mesh,
    nearest_points,
    nearest_points_parts,
    signed_distance,
    signed_distance_parts,
    warp_devices,
)
from openhoi.geometry.distance_reference import signed_distance_reference
from openhoi.geometry.metrics import PhysicsReport, physics_report
from openhoi.geometry.rotations import (
    axis_angle_to_matrix,
    matrix_to_axis_angle,
    matrix_to_rotation_6d,
    rotation_6d_to_matrix,
)
from openhoi.geometry.sampling import farthest_point_sampling

__all__ = [
    "CONTACT_LABEL_THRESHOLD_M",
    "CONTACT_THRESHOLD_M",
    "VOLUME_VOXEL_PITCH_M",
    "DistanceMesh",
    "DistanceOutput",
    "NearestOutput",
    "PhysicsReport",
    "axis_angle_to_matrix",
    "distance_mesh",
    "farthest_point_sampling",
    "matrix_to_axis_angle",
    "matrix_to_rotation_6d",
    "nearest_points",
    "nearest_points_parts",
    "physics_report",
    "rotation_6d_to_matrix",
    "signed_distance",
    "signed_distance_parts",
    "signed_distance_reference",
    "warp_devices",
]
