"""People: who is in the picture, frame after frame, and where each one's body and head are.

The shared layer under both capabilities: ``engine.deid`` needs every head (to cover
it), ``engine.kinematics`` needs one chosen person's body (to measure it).  Both used
to run legacy mediapipe Pose, which sees one person per frame, so two people in the
room were mixed into one skeleton.  Here every person has an identity kept across
frames (:mod:`engine.people.identity`) and their own Pose landmarks, top-down: Pose
runs on each person's own crop (:mod:`engine.people.pose`), so everyone is measured
in every frame.  :mod:`engine.people.faces` turns a person's landmarks into their
head and face boxes.  Nothing here imports ``deid`` or ``kinematics``.
"""
