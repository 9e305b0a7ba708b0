"""SynthHOI: procedural, physically checked hand–object interaction episodes."""

from openhoi.data.synth.grasp import GRASP_TYPES, Grasp, GraspConfig, GraspFailure, synthesize_grasp

__all__ = ["GRASP_TYPES", "Grasp", "GraspConfig", "GraspFailure", "synthesize_grasp"]
