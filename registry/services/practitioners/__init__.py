"""Practitioners (从业人员), one module per subject: `certificate_types` (the controlled list),
`common` (the ID key, lookups), `registry` (registering people, employments and certificates,
the 挂证 check), `staff` (who counts as a provider's valid practitioner) and `expiry` (the daily
expired-certificate check).

Services flush, audit and raise RegistryError; they never commit."""
