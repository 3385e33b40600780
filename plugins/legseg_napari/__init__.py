"""napari glue for LegSeg: manifest, reader, writer, sample data and dock widgets."""
