-- 0004: usage counts per local day, for `kioskctl stats`, the staff panel
-- and the Prometheus endpoint (firmware::metrics).
--
-- `metric` is a name from `firmware::metrics::Metric`; `label` is a code:
-- a service or procedure code from the configuration, an outcome name or a
-- score. It NEVER holds personal data (the code refuses any other label).
CREATE TABLE usage_counts (
    day     TEXT    NOT NULL CHECK (length(day) = 8),
    metric  TEXT    NOT NULL,
    label   TEXT    NOT NULL,
    count   INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (day, metric, label)
) WITHOUT ROWID;
