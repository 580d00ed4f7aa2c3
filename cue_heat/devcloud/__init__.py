"""A real local OpenStack (Keystone + Heat) on loopback for tests and demos.

Only :mod:`cue_heat.devcloud.heat_server` and
:mod:`cue_heat.devcloud.keystone_wsgi` import the Keystone and Heat
servers, and they run as subprocesses: importing this package costs
nothing and needs none of the ``devcloud`` extra.
"""
