"""Demo data generators (`registry seed --demo`): clearly marked (示例) accounts, a marketplace
laid out around the day it is seeded, and the demo projects' roadmaps. They build through the
services like any user would; nothing in the application imports them."""
