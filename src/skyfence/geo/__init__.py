"""Geodesy, borders and zones.

Everything SkyFence knows about the shape of the earth and where things are on it:
WGS84 coordinate conversions (geodetic, ECEF, ENU, AER), geodesics, the 4/3-earth
radar horizon, a deployment's local frame, state borders and protected zones.

Conventions: SI units; angles in degrees at the API (``deg=True``, radians when
``deg=False``); the WGS84 ellipsoid; function names say the source and the target
frame (``geodetic2enu`` converts geodetic coordinates to local east/north/up).

This package deliberately imports nothing; import from the submodules:

- :mod:`skyfence.geo.geodesy` -- vectorised WGS84 conversions and geodesics
- :mod:`skyfence.geo.horizon` -- 4/3-earth radar horizon and line of sight
- :mod:`skyfence.geo.frame` -- a deployment's local frame (map plane and ENU)
- :mod:`skyfence.geo.borders` -- state borders
- :mod:`skyfence.geo.zones` -- protected and restricted zones
"""
