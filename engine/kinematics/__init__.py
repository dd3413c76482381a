"""kinematics capability."""
