"""The result format, its own package below the engine: the document's types and JSON
Schemas (every version, with the upgrades between them), the checks of its meaning, the one
bounded reader and the one atomic writer, the precision modes the schema enumerates, and
the one-line error every layer raises for bad input. The engine writes results through it;
reports and the application read them through it, and import nothing else of the engine."""
