"""Tracking: motion and measurement models and the batched Kalman filters that use them.

All tracks live in one local Cartesian frame, the tangent-plane ENU (east, north,
up; metres) of the deployment origin, and the state of every track is one
structure of arrays (means ``(N, d)``, covariances ``(N, d, d)``) predicted and
updated as a batch.
"""
