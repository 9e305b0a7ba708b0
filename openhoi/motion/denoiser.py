"""The x0-predicting transformer: per-frame agent tokens [left, right, object] + condition tokens.

Token sequence for one sample (paper Sec. 3.2, Appendix B):

    condition tokens  [timestep | hands+length | text | point global | point_1 .. point_K]
    motion tokens     [left_0, right_0, object_0, left_1, right_1, object_1, ...]   (3T)

Motion tokens: each agent's slice of the 208-D frame is projected to d, then a sinusoidal
frame-level encoding, a learned agent embedding and the timestep embedding are added.
The condition C = [affordance mask, text embedding, object points] enters through the
point tokens (per-point MLP on xyz, normal and affordance, then K learned queries attend
over the points, plus a max-pooled global token) and the text token. Condition dropout
(classifier-free guidance, Eq. 7) swaps C's tokens for learned null tokens; which hands
act and the segment length are structural and always given.

The text and point tokens depend on C alone, not on x_t or t, so a sampler encodes them
once per batch (`MotionDenoiser.encode_condition`) and passes the `EncodedCondition` to
every step; the point encoder is then run once instead of at each of the steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange
from torch import Tensor, nn

from openhoi.data import layout
from openhoi.errors import InputError
from openhoi.motion.config import DenoiserConfig
from openhoi.motion.embeddings import TimestepEmbedding, sinusoidal_encoding

__all__ = ["DenoiserCondition", "EncodedCondition", "MotionDenoiser"]

AGENT_SLICES = (layout.LEFT_HAND, layout.RIGHT_HAND, layout.OBJECT)
NUM_AGENTS = len(AGENT_SLICES)
POINT_FEATURES = 7  # xyz 3 + normal 3 + affordance 1


@dataclass(frozen=True)
class DenoiserCondition:
    """Everything the denoiser conditions on, batched.

    object_points: `(B, P, 6)` xyz (metres) + unit normals in the object's canonical frame.
    affordance: `(B, P)` per-point affordance in [0, 1].
    text_embedding: `(B, D_text)` sub-task text embedding.
    active_hands: `(B, 2)` bool, left / right hand acts.
    frame_mask: `(B, T)` bool, True on real (not padded) frames.
    anchor_mask: `(B, P)` the mask whose weighted centroid anchors the object-centric frame
        (`representation.affordance_anchor`); None: `affordance`. Only an ablation sets it:
        the model sees no mask while its hands stay expressed where the full method puts them.
    """

    object_points: Tensor
    affordance: Tensor
    text_embedding: Tensor
    active_hands: Tensor
    frame_mask: Tensor
    anchor_mask: Tensor | None = None

    @property
    def anchor_affordance(self) -> Tensor:
        """The mask the frame anchor is computed from."""
        return self.affordance if self.anchor_mask is None else self.anchor_mask

    @property
    def batch_size(self) -> int:
        """B."""
        return self.object_points.shape[0]

    def repeat(self, times: int) -> DenoiserCondition:
        """The batch stacked `times` times along B (for batched CFG)."""
        return DenoiserCondition(
            *(None if getattr(self, name) is None else torch.cat([getattr(self, name)] * times)
              for name in _CONDITION_FIELDS)
        )  # fmt: skip

    def to(self, device: torch.device | str) -> DenoiserCondition:
        """The same condition on `device`."""
        return DenoiserCondition(
            *(None if getattr(self, name) is None else getattr(self, name).to(device)
              for name in _CONDITION_FIELDS)
        )  # fmt: skip


_CONDITION_FIELDS = (
    "object_points", "affordance", "text_embedding", "active_hands", "frame_mask", "anchor_mask"
)  # fmt: skip


@dataclass(frozen=True)
class EncodedCondition:
    """The x_t-independent condition tokens of a batch (before condition dropout).

    text_token: `(B, d)` projected text embedding.
    point_tokens: `(B, 1 + K, d)` global + query tokens of the object points and mask.
    """

    text_token: Tensor
    point_tokens: Tensor

    def repeat(self, times: int) -> EncodedCondition:
        """The batch stacked `times` times along B (for batched CFG)."""
        return EncodedCondition(
            torch.cat([self.text_token] * times), torch.cat([self.point_tokens] * times)
        )


class PointEncoder(nn.Module):
    """`(B, P, 7)` points → `(B, 1 + K, d)` tokens: a max-pooled global token + K query tokens."""

    def __init__(self, config: DenoiserConfig) -> None:
        super().__init__()
        hidden, d = config.point_hidden_dim, config.d_model
        self.point_mlp = nn.Sequential(
            nn.Linear(POINT_FEATURES, hidden),
            nn.GELU(),
            nn.Linear(hidden, hidden),
            nn.GELU(),
            nn.Linear(hidden, d),
        )
        self.queries = nn.Parameter(torch.randn(config.num_point_tokens, d) * 0.02)
        self.attention = nn.MultiheadAttention(d, config.num_heads, batch_first=True)
        self.norm = nn.LayerNorm(d)

    def forward(self, points: Tensor) -> Tensor:
        """(B, P, 7) → (B, 1 + K, d)."""
        features = self.point_mlp(points)  # (B, P, d)
        global_token = features.max(dim=1).values[:, None]  # (B, 1, d)
        queries = self.queries.expand(points.shape[0], -1, -1)
        keys = self.norm(features)
        local_tokens, _ = self.attention(queries, keys, keys, need_weights=False)  # (B, K, d)
        return torch.cat([global_token, local_tokens], dim=1)


class MotionDenoiser(nn.Module):
    """x_θ(x_t, t, C): predicts the clean frames x0 from noisy frames (paper Eq. 6).

    Knows nothing about betas or samplers (STYLE §2.1).
    """

    def __init__(self, config: DenoiserConfig) -> None:
        super().__init__()
        self.config = config
        d = config.d_model
        self.agent_in = nn.ModuleList([nn.Linear(s.stop - s.start, d) for s in AGENT_SLICES])
        self.agent_embedding = nn.Parameter(torch.randn(NUM_AGENTS, d) * 0.02)
        self.timestep_embedding = TimestepEmbedding(d)
        self.structure_mlp = nn.Sequential(nn.Linear(3, d), nn.SiLU(), nn.Linear(d, d))
        self.text_proj = nn.Linear(config.text_dim, d)
        self.point_encoder = PointEncoder(config)
        num_condition_tokens = 3 + 1 + config.num_point_tokens
        self.condition_type_embedding = nn.Parameter(torch.randn(num_condition_tokens, d) * 0.02)
        # Learned null condition C = ∅ (text token and point tokens) for CFG.
        self.null_text = nn.Parameter(torch.zeros(1, d))
        self.null_points = nn.Parameter(torch.zeros(1 + config.num_point_tokens, d))
        layer = nn.TransformerEncoderLayer(
            d,
            config.num_heads,
            config.ff_dim,
            config.dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        # nn.TransformerEncoderLayer uses one dropout rate everywhere; the attention one is
        # set apart (DenoiserConfig.attention_dropout) without changing parameter names.
        layer.self_attn.dropout = config.attention_dropout
        self.encoder = nn.TransformerEncoder(layer, config.num_layers, enable_nested_tensor=False)
        self.out_norm = nn.LayerNorm(d)
        self.agent_out = nn.ModuleList([nn.Linear(d, s.stop - s.start) for s in AGENT_SLICES])

    @property
    def num_condition_tokens(self) -> int:
        """Condition tokens before the 3T motion tokens."""
        return self.condition_type_embedding.shape[0]

    def encode_condition(self, condition: DenoiserCondition) -> EncodedCondition:
        """The text and point tokens of `condition` (they do not change across steps)."""
        dtype = self.text_proj.weight.dtype
        text_token = self.text_proj(condition.text_embedding.to(dtype))
        points = torch.cat(
            [condition.object_points.to(dtype), condition.affordance.to(dtype)[..., None]],
            dim=-1,
        )
        return EncodedCondition(text_token, self.point_encoder(points))

    def forward(
        self,
        x_t: Tensor,
        t: Tensor,
        condition: DenoiserCondition,
        drop_condition: Tensor | None = None,
        encoded: EncodedCondition | None = None,
    ) -> Tensor:
        """Predict x0.

        Args:
            x_t: `(B, T, 208)` noisy normalised frames.
            t: `(B,)` long diffusion timesteps.
            condition: the batched condition (frame_mask `(B, T)`).
            drop_condition: `(B,)` bool; True replaces C by the learned null condition.
            encoded: `encode_condition(condition)`, computed once by a sampler (None:
                encoded here).

        Returns:
            `(B, T, 208)` x0 prediction (padded frames hold unspecified values).
        """
        batch, num_frames, dim = x_t.shape
        if dim != layout.FRAME_DIM:
            raise InputError(f"x_t must have {layout.FRAME_DIM} features, got shape {x_t.shape}")
        if num_frames > self.config.max_frames:
            raise InputError(
                f"x_t has {num_frames} frames; the model takes up to {self.config.max_frames}"
            )
        if condition.frame_mask.shape != (batch, num_frames):
            raise InputError(
                f"frame_mask must have shape ({batch}, {num_frames}), "
                f"got {tuple(condition.frame_mask.shape)}"
            )
        d = self.config.d_model
        frame_mask = condition.frame_mask.bool()
        if drop_condition is None:
            drop_condition = torch.zeros(batch, dtype=torch.bool, device=x_t.device)

        # 1. Condition tokens.
        time_token = self.timestep_embedding(t)  # (B, d)
        num_real = frame_mask.sum(dim=1).to(x_t.dtype) / self.config.max_frames
        structure = torch.cat([condition.active_hands.to(x_t.dtype), num_real[:, None]], dim=1)
        structure_token = self.structure_mlp(structure)
        if encoded is None:
            encoded = self.encode_condition(condition)
        if encoded.text_token.shape[0] != batch:
            raise InputError(
                f"encoded condition has batch {encoded.text_token.shape[0]}, x_t has {batch}"
            )
        text_token = encoded.text_token.to(x_t.dtype)  # (B, d)
        point_tokens = encoded.point_tokens.to(x_t.dtype)  # (B, 1 + K, d)
        drop = drop_condition.view(batch, 1, 1)
        text_token = torch.where(drop[:, 0], self.null_text.expand(batch, d), text_token)
        point_tokens = torch.where(drop, self.null_points.expand(batch, -1, -1), point_tokens)
        condition_tokens = (
            torch.cat(
                [time_token[:, None], structure_token[:, None], text_token[:, None], point_tokens],
                dim=1,
            )
            + self.condition_type_embedding
        )

        # 2. Motion tokens (B, T, 3, d) → (B, 3T, d), frame-major.
        agents = torch.stack(
            [proj(x_t[..., s]) for proj, s in zip(self.agent_in, AGENT_SLICES, strict=True)],
            dim=2,
        )
        frame_pe = sinusoidal_encoding(torch.arange(num_frames, device=x_t.device), d)
        agents = agents + frame_pe[None, :, None] + self.agent_embedding + time_token[:, None, None]
        motion_tokens = rearrange(agents, "b t a d -> b (t a) d")

        # 3. Transformer over all tokens; padded frames are masked out as keys.
        tokens = torch.cat([condition_tokens, motion_tokens], dim=1)
        motion_padding = ~frame_mask.repeat_interleave(NUM_AGENTS, dim=1)
        condition_padding = motion_padding.new_zeros(batch, condition_tokens.shape[1])
        padding = torch.cat([condition_padding, motion_padding], dim=1)
        hidden = self.encoder(tokens, src_key_padding_mask=padding)
        hidden = self.out_norm(hidden[:, condition_tokens.shape[1] :])

        # 4. Per-agent heads back to the 208-D frame.
        hidden = rearrange(hidden, "b (t a) d -> b t a d", a=NUM_AGENTS)
        outputs = [head(hidden[:, :, k]) for k, head in enumerate(self.agent_out)]
        return torch.cat(outputs, dim=-1)
