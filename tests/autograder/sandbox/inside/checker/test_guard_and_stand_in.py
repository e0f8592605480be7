"""The engine's stand-ins and guard, in a process of their own (each test changes torch's classes or a
function's code, as a notebook would): a stand-in is reached however a caller holds its callee, and
the guard puts back what a notebook changed in torch's or the kit's classes, and only that."""

import subprocess
import sys
import textwrap

from tests import corpus

RELEASE = corpus.ROOT / "release" / "train_and_generate"


def _run(code: str) -> str:
    """Run ``code`` in a fresh Python in the release folder, with the engine's copy importable."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=RELEASE, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_a_stand_in_is_reached_by_name_default_alias_closure_partial_and_decorator():
    said = _run("""
        import functools, sys, types
        sys.modules["checks_support"] = types.SimpleNamespace(STAND_INS={"probe": lambda *a, **k: "stand-in"})
        from checker.inputs import standing_in

        def callee(x, y=1):
            return "own"

        def decorated(f):
            @functools.wraps(f)
            def wrapper(*args, **kwargs):
                return f(*args, **kwargs)
            return wrapper

        def make(fn):
            def caller(x):
                return fn(x)
            return caller

        namespace = {"callee": callee}
        by_name = lambda x: namespace["callee"](x)
        by_default = lambda x, fn=callee: fn(x)
        alias = callee
        closure = make(callee)
        partial = functools.partial(callee, y=2)
        wrapped = decorated(callee)
        callers = (by_name, by_default, alias, closure, partial, wrapped)
        with standing_in(namespace, {"callee": "probe"}):
            print([c(0) for c in callers])
        print([c(0) for c in callers], namespace["callee"] is callee, callee.__name__)
        wrapper_ns = {"callee": wrapped}
        with standing_in(wrapper_ns, {"callee": "probe"}):  # a decorated callee: its own closure, swapped too
            print(wrapped(0), by_default(0))
    """).splitlines()
    assert said[0] == str(["stand-in"] * 6)
    assert said[1] == str(["own"] * 6) + " True callee"
    assert said[2] == "stand-in own"


def test_a_stand_in_goes_only_to_a_callee_that_failed():
    from autograder.sandbox.inside.checker.inputs import stand_ins

    call = {"stand_in": {"calc_loss_batch": "probe_loss"}}
    assert stand_ins(call, set()) == {}
    assert stand_ins(call, {"generate"}) == {}
    assert stand_ins(call, {"calc_loss_batch"}) == {"calc_loss_batch": "probe_loss"}


def test_the_guard_puts_back_what_a_notebook_changed_and_names_it():
    said = _run("""
        import sys, torch, gpt2
        from checker import guard
        guard.keep(".")
        original = torch.optim.SGD.step
        torch.optim.SGD.step = lambda self, closure=None: None
        gpt2.GPTModel.forward = lambda self, idx: idx
        torch.Tensor.backward = lambda self, *a, **k: None
        torch.nn.Module.cuda_helper = lambda self: self  # an attribute added to a class counts too
        torch.nn.functional.cross_entropy = lambda *a, **k: torch.tensor(0.0)
        sys.modules["gpt2"] = object()
        print(sorted(guard.restore()))
        print(torch.optim.SGD.step is original, sys.modules["gpt2"] is gpt2, hasattr(torch.nn.Module, "cuda_helper"),
              guard.restore())
    """).splitlines()
    assert said[0] == str(sorted(["torch.optim.SGD.step", "gpt2.GPTModel.forward", "torch.Tensor.backward",
                                  "torch.nn.Module.cuda_helper",
                                  "torch.nn.functional.cross_entropy", "sys.modules['gpt2']"]))
    assert said[1] == "True True False []"


def test_the_guard_leaves_honest_notebooks_alone():
    """Helper classes, seeds, optimizers built for the first time (torch wraps their step), the
    compiler imported (it wraps torch.manual_seed), grad mode, lazy imports: no change."""
    said = _run("""
        import torch, gpt2
        from checker import guard
        guard.keep(".")

        class Helper(torch.nn.Module):
            def forward(self, x):
                return x

        torch.manual_seed(123)
        model = gpt2.GPTModel({"vocab_size": 97, "context_length": 16, "emb_dim": 32, "n_heads": 2,
                               "n_layers": 1, "drop_rate": 0.0, "qkv_bias": False})
        for kind in (torch.optim.SGD, torch.optim.Adam, torch.optim.AdamW, torch.optim.RMSprop):
            optimizer = kind(model.parameters(), lr=1e-3)
            model(torch.tensor([[1, 2, 3]])).sum().backward()
            optimizer.step()
        import torch._dynamo, torch.distributions
        with torch.no_grad():
            Helper()(torch.zeros(1))
        print(guard.restore())
    """)
    assert said.strip() == "[]"
