"""The packaged stills the core's SR work reads, each with its one role (see srpipe.data.sources).

``train`` fits the bundled SR weights, ``validation`` selects their checkpoint, and the
``test`` stills are the ``eval sr`` default set (the offline corpus, ``srpipe data samples``).
The ``sr`` task declares them through ``srpipe_register_sources`` like any plugin; the table
sits apart from :mod:`srpipe.tasks.image_quality` so the task module stays about scoring and
this one reads as the data list it is.

The detect plugin fits and selects its tiny-object detector on the same train and validation
stills and declares them too; both declarations merge into one source each.
"""

from __future__ import annotations

from srpipe.data.sources import TEST, TRAIN, VALIDATION, Source


def _still(name: str, role: str, licence: str, description: str, **kw) -> Source:
    """A scikit-image still stored as ``data/<name>.png``."""
    return Source(
        name, "skimage", (f"data/{name}.png",), role, licence=licence, description=description, **kw
    )


#: Order is only for reading (and the corpus's file order).
SR_SOURCES: tuple[Source, ...] = (
    # ---- train: fits the bundled SR weights (and the tiny-object detector) ----
    Source("rocket", "skimage", ("data/rocket.jpg",), TRAIN, licence="public domain (NASA)",
           description="launch pad photo, 640x427"),
    Source("hubble_deep_field", "skimage", ("data/hubble_deep_field.jpg",), TRAIN,
           licence="public domain (NASA)", description="galaxies, 1000x872"),
    _still("ihc", TRAIN, "public domain", "immunohistochemistry micrograph, 512x512"),
    _still("brick", TRAIN, "CC0 (scikit-image)", "grey texture, 512x512"),
    _still("grass", TRAIN, "CC0 (scikit-image)", "grey texture, 512x512"),
    _still("gravel", TRAIN, "CC0 (scikit-image)", "grey texture, 512x512"),
    _still("page", TRAIN, "public domain", "scanned text page, 384x191"),
    _still("cell", TRAIN, "CC0 (scikit-image)", "grey microscopy, 550x660"),
    Source("minduka_present", "matplotlib", ("mpl-data/sample_data/Minduka_Present_Blue_Pack.png",),
           TRAIN, licence="CC0 (matplotlib sample data)", description="photo of a parcel, 128x128"),
    # ---- validation: selects checkpoints, never published ----
    _still("motorcycle_left", VALIDATION, "Middlebury stereo", "street photo, 741x500",
           group="motorcycle"),
    _still("motorcycle_right", VALIDATION, "Middlebury stereo", "the other stereo view",
           group="motorcycle"),
    _still("coins", VALIDATION, "public domain", "grey photo of coins, 384x303"),
    _still("text", VALIDATION, "public domain", "grey photo of printed text, 448x172"),
    # ---- test: the `eval sr` default set, measured and published ----
    _still("astronaut", TEST, "public domain (NASA)", "portrait of Eileen Collins, 512x512",
           tasks=("sr",)),
    _still("chelsea", TEST, "CC0 (Stefan van der Walt)", "a cat, 451x300", tasks=("sr",)),
    _still("coffee", TEST, "CC0 (Rachel Michetti)", "a cup of coffee, 600x400", tasks=("sr",)),
    _still("camera", TEST, "CC0 (scikit-image)", "grey photo of a cameraman, 512x512",
           tasks=("sr",)),
)  # fmt: skip
