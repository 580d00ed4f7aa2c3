"""The node agent's stand-in for a group's leader election."""

import json
import types

import pytest

from cue_heat.devcloud import agent

MEMBERS = [
    {'host': 'q-b', 'address': '127.10.0.9', 'server_id': 's-b'},
    {'host': 'q-a', 'address': '127.9.0.200', 'server_id': 's-a'},
    {'host': 'q-c', 'address': '127.10.0.10', 'server_id': 's-c'},
]


def _server(server_id):
    return types.SimpleNamespace(server_id=server_id)


@pytest.mark.parametrize('members', [MEMBERS, json.dumps(MEMBERS)])
def test_lowest_address_is_the_one_primary(members):
    roles = {member['server_id']: agent._founder_role(
        {'members': members}, _server(member['server_id']))
        for member in MEMBERS}

    assert roles == {'s-a': 'primary', 's-b': 'replica', 's-c': 'replica'}


@pytest.mark.parametrize('inputs', [{}, {'members': 'not json'},
                                    {'members': []},
                                    {'members': [{'host': 'x'}]}])
def test_no_members_no_role(inputs):
    assert agent._founder_role(inputs, _server('s-a')) is None
