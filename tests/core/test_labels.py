"""The label set: ids, names and colours, and the colour tables written for other viewers."""

from __future__ import annotations

from pathlib import Path

from legseg_core import labels


def test_seven_muscles_in_the_papers_numbering() -> None:
    assert labels.MUSCLE_IDS == (1, 2, 3, 4, 5, 6, 7)
    assert labels.MUSCLE_ABBRS == ("GL", "GM", "SOL", "TA", "PER", "EDL", "TP")
    assert labels.MUSCLE_BY_ABBR["SOL"].name == "soleus"
    assert labels.NUM_CLASSES == 8


def test_colours_are_distinct_and_follow_figure_3() -> None:
    colours = [m.color for m in labels.MUSCLES]
    assert len(set(colours)) == 7
    red, green, blue = labels.MUSCLE_BY_ABBR["TP"].color
    assert blue > 150 and blue > red and blue > green  # TP blue
    red, green, blue = labels.MUSCLE_BY_ABBR["GM"].color
    assert red > 200 and green > 200 and blue < 80  # GM yellow
    red, green, blue = labels.MUSCLE_BY_ABBR["SOL"].color
    assert red > 200 and 100 < green < 180 and blue < 80  # SOL orange


def test_overlap_classes_of_figure_4() -> None:
    assert [c.id for c in labels.OVERLAP_CLASSES] == [1, 2, 3, 4]
    red, green, blue = labels.OVERLAP_BY_ID[labels.OVERLAP_AGREE].color
    assert green > 60 and green > 2 * max(red, blue)  # green
    red, green, blue = labels.OVERLAP_BY_ID[labels.OVERLAP_MANUAL_ONLY].color
    assert red > 150 and red > 5 * max(green, blue)  # red


def test_muscle_name_for_hover_text() -> None:
    assert labels.muscle_name(3) == "SOL (soleus)"
    assert labels.muscle_name(0) == "background"
    assert labels.muscle_name(42) == "unknown label 42"


def test_colour_lut_has_a_transparent_background() -> None:
    lut = labels.color_lut()
    assert lut[0][3] == 0.0 and all(lut[i][3] == 1.0 for i in labels.MUSCLE_IDS)
    table = labels.color_table_uint8()
    assert table.shape == (8, 4) and tuple(table[4, :3]) == labels.MUSCLE_BY_ID[4].color


def test_itksnap_label_file_reads_back(tmp_path: Path) -> None:
    path = labels.write_itksnap_label_file(tmp_path / "legseg.label")
    table = labels.read_itksnap_label_file(path)
    assert table[0][0] == "Clear Label"
    for muscle in labels.MUSCLES:
        assert table[muscle.id] == (f"{muscle.abbr} {muscle.name}", muscle.color)


def test_slicer_color_table_reads_back(tmp_path: Path) -> None:
    path = labels.write_slicer_color_table(tmp_path / "legseg.ctbl")
    table = labels.read_slicer_color_table(path)
    assert table[0] == ("background", (0, 0, 0, 0))
    for muscle in labels.MUSCLES:
        assert table[muscle.id] == (muscle.abbr, (*muscle.color, 255))


def test_a_malformed_colour_table_names_the_file_and_line(tmp_path: Path) -> None:
    import pytest

    from legseg_core.errors import ImageFormatError

    path = tmp_path / "bad.ctbl"
    path.write_text("0 background 0 0 0 0\n1 GL purple\n")
    with pytest.raises(ImageFormatError, match="bad.ctbl: line 2"):
        labels.read_slicer_color_table(path)
