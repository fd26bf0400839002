"""Airspace: border crossings and zone events of tracks (``events``), the threat score
(``threat``) and the alert lifecycle (``alerts``).  Knows tracks, borders and zones;
never a wire format or a sensor."""
