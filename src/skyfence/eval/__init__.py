"""Evaluation of tracker output against simulated truth.

Modules
-------
gospa
    GOSPA (Rahmathullah, García-Fernández & Svensson 2017) and OSPA
    (Schuhmacher, Vo & Vo 2008) distances between point sets, one time step at a time or over
    a whole truth table and tracks table.
continuity
    SIAP-style track quality: association of track updates to truth, probability
    of update, long gaps, identity swaps, false confirmed tracks, time to confirm
    and position error.
"""
