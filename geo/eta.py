"""Travel-time estimates from straight-line distance.

A volunteer cannot walk through buildings, so a straight-line distance is
stretched by a detour factor before it is divided by the travel speed.
"""

import math

__all__ = ["DETOUR_FACTOR", "SPEED_MPS", "eta_s"]

SPEED_MPS = {"walk": 1.6, "bike": 4.5, "car": 8.0}
"""Travel speed in metres per second for each travel mode.

Brisk walking, urban cycling, and urban driving with junctions.
"""

DETOUR_FACTOR = 1.3
"""Street distance over straight-line distance, typical for towns."""


def eta_s(distance_m: float, mode: str = "walk", detour: float = DETOUR_FACTOR) -> float:
    """Estimate the travel time in seconds over a straight-line distance.

    Parameters
    ----------
    distance_m : float
        Straight-line (great-circle) distance in metres.
    mode : str
        A key of `SPEED_MPS`.
    detour : float
        Street distance over straight-line distance; 1 means as the crow flies.

    Raises
    ------
    ValueError
        For an unknown mode, a negative or non-finite distance, or a detour
        that is not a positive finite number.

    Examples
    --------
    >>> eta_s(160.0, detour=1.0)
    100.0
    >>> round(eta_s(1000.0, "bike"))
    289
    >>> eta_s(100.0, "swim")
    Traceback (most recent call last):
    ...
    ValueError: unknown travel mode 'swim'; expected one of bike, car, walk
    """
    try:
        speed = SPEED_MPS[mode]
    except KeyError:
        known = ", ".join(sorted(SPEED_MPS))
        raise ValueError(f"unknown travel mode {mode!r}; expected one of {known}") from None
    if not (math.isfinite(distance_m) and distance_m >= 0):
        raise ValueError(f"distance must be finite and non-negative, got {distance_m}")
    if not (math.isfinite(detour) and detour > 0):
        raise ValueError(f"detour must be finite and positive, got {detour}")
    return distance_m * detour / speed
