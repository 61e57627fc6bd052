from xtuner_like.errors import UnknownNameError


def test_unknown_name_message():
    err = UnknownNameError('template', 'chatm1', ['chatml', 'default'])
    assert str(err) == "no template 'chatm1'; did you mean 'chatml'?"
    assert isinstance(err, KeyError)
    assert 'known: a, b' in str(UnknownNameError('thing', 'zzz', ['b', 'a']))
