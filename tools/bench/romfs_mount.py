"""Mount a ROMFS image at /rom and import lib/ from it, as a board with a ROMFS partition does.

    import romfs_mount
    romfs_mount.mount("frozen", "/path/to/jobs")   # the image frozen into the firmware as bytes
    romfs_mount.mount("build/x.romfs", None)       # an image file, read into the heap (tests)

A board maps its ROMFS partition from flash; the 32-bit heap binaries built by tools/mp32 carry
the image as a frozen bytes constant instead (module ei_romfs_image), which is outside the GC
heap in the same way. sys.path becomes /rom/lib (and the jobs folder): nothing else is seen.
"""

import sys

import vfs


def mount(source, jobs=None):
    if source == "frozen":
        import ei_romfs_image

        data = ei_romfs_image.IMAGE
    else:
        with open(source, "rb") as f:
            data = f.read()
    vfs.mount(vfs.VfsRom(data), "/rom")
    sys.path[:] = ["/rom/lib"] + ([jobs] if jobs else [])
