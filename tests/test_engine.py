"""engine.import_weasyprint: WeasyPrint without its library-search subprocesses, the same libraries."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# Counts the subprocesses started while WeasyPrint imports; says which shared libraries are
# mapped afterwards, whether find_library is WeasyPrint's own again, and whether a PDF is made.
PROBE = textwrap.dedent(
    """
    import ctypes.util, json, subprocess, sys
    started = []
    spawn = subprocess.Popen._execute_child
    def counting(self, args, *rest, **kw):
        started.append(args)
        return spawn(self, args, *rest, **kw)
    subprocess.Popen._execute_child = counting
    search = ctypes.util.find_library
    {setup}
    {import_it}
    subprocess.Popen._execute_child = spawn
    libraries = sorted({{line.split()[-1] for line in open("/proc/self/maps") if ".so" in line}})
    pdf = weasyprint.HTML(string="<p>Magnesium</p>").write_pdf()
    print(json.dumps({{
        "started": len(started),
        "libraries": libraries,
        "restored": ctypes.util.find_library is search,
        "pdf": pdf[:5].decode(),
    }}))
    """
)
PLAIN = "import weasyprint"
OURS = "from pubkit.pdf.engine import import_weasyprint\nweasyprint = import_weasyprint()"


def _probe(import_it: str, setup: str = "") -> dict:
    code = PROBE.format(import_it=import_it, setup=setup)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_weasyprint_imports_without_subprocesses_and_maps_the_same_libraries():
    plain, ours = _probe(PLAIN), _probe(OURS)
    assert plain["started"] > 0  # WeasyPrint's own import does search (ldconfig, gcc, ld)
    assert ours["started"] == 0
    assert ours["libraries"] == plain["libraries"]
    assert any("libpango-1.0.so" in lib for lib in ours["libraries"])
    assert ours["restored"] and ours["pdf"] == "%PDF-"


def test_a_library_only_the_search_finds_falls_back_to_it():
    """Pango cannot be opened by its soname while the quick path is on (as on a machine where
    only find_library's search would find it): the import is made again, the ordinary way."""
    refuse_soname_while_quick = textwrap.dedent(
        """
        import cffi
        opened = cffi.FFI.dlopen
        def dlopen(self, name, *args):
            if name == "libpango-1.0.so.0" and ctypes.util.find_library is not search:
                raise OSError("cannot load library " + name)
            return opened(self, name, *args)
        cffi.FFI.dlopen = dlopen
        """
    )
    result = _probe(OURS, setup=refuse_soname_while_quick)
    assert result["started"] > 0  # the second, ordinary import searched
    assert result["restored"] and result["pdf"] == "%PDF-"


def test_threads_importing_at_once_get_the_whole_module_and_find_library_back():
    """A Dask worker runs tasks in threads: each gets the complete module, and find_library is
    WeasyPrint's own afterwards (not one thread's stand-in)."""
    code = textwrap.dedent(
        """
        import ctypes.util, threading
        from pubkit.pdf.engine import import_weasyprint
        search = ctypes.util.find_library
        got = []
        threads = [threading.Thread(target=lambda: got.append(import_weasyprint())) for _ in range(4)]
        for t in threads: t.start()
        for t in threads: t.join()
        assert len(got) == 4 and all(m is got[0] for m in got)
        assert all(m.HTML(string="<p>x</p>").write_pdf()[:5] == b"%PDF-" for m in got)
        assert ctypes.util.find_library is search
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
