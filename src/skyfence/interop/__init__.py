"""Wire formats in and out of SkyFence (SAPIENT, ASTERIX, Cursor-on-Target, Remote ID, SBS,
GeoJSON).  One module per format; import the one you need (``skyfence.interop.cot``).

Modules here know the records of :mod:`skyfence.model` and the geodesy of
:mod:`skyfence.geo`, nothing of the stages that produce or consume them.
"""
