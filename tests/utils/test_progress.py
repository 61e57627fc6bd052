import io

from xtuner_like.utils.progress import on_terminal, progress


class Tty(io.StringIO):
    def isatty(self):
        return True


def test_items_pass_through_with_or_without_a_bar(monkeypatch):
    monkeypatch.setattr('sys.stderr', io.StringIO())
    assert not on_terminal()
    assert list(progress(range(3), 'x')) == [0, 1, 2]
    tty = Tty()
    monkeypatch.setattr('sys.stderr', tty)
    assert on_terminal()
    assert list(progress(range(3), 'chat')) == [0, 1, 2]
    assert 'chat:' in tty.getvalue() and '/3 ' in tty.getvalue()  # redraws are throttled


def test_steps_name_each_stage_on_a_terminal_only(monkeypatch):
    from xtuner_like.utils.progress import Steps
    tty = Tty()
    monkeypatch.setattr('sys.stderr', tty)
    step = Steps('merge', ['load', 'save'])
    step('load')
    step('save')
    step.close()
    assert 'merge: 1/2, save' in tty.getvalue()
    quiet = io.StringIO()
    monkeypatch.setattr('sys.stderr', quiet)
    step = Steps('merge', ['load'])
    step('load')
    step.close()
    assert quiet.getvalue() == ''
