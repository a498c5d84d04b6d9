// Draws the economy dashboard's charts from the JSON the page embeds (no network calls).
// Gold faucets (minted) and sinks (burned) get a chart and an axis each, stacked by reason, so a
// large staff grant cannot hide burn. Revenue gets one chart per currency, in that currency's own
// unit (KRW has no minor unit: 1,200 KRW, never 12.00).
(function () {
  const data = JSON.parse(document.getElementById("economy-data").textContent);
  const labels = data.days.map((row) => row.day);
  const whole = (value) => Number(value).toLocaleString("en-US");
  const chart = (canvas, datasets, { stacked = false, unit = "" } = {}) =>
    new Chart(canvas, {
      type: "bar",
      data: { labels, datasets },
      options: {
        responsive: true,
        animation: false,
        scales: {
          x: { stacked },
          y: {
            stacked,
            beginAtZero: true,
            title: { display: Boolean(unit), text: unit },
            ticks: { callback: (value) => whole(value) },
          },
        },
        plugins: {
          tooltip: {
            callbacks: { label: (item) => `${item.dataset.label}: ${whole(item.parsed.y)} ${unit}` },
          },
        },
      },
    });
  const byReason = (figure) => {
    const reasons = new Set();
    data.days.forEach((row) =>
      Object.entries(row.by_reason).forEach(([reason, totals]) => {
        if (totals[figure] > 0) reasons.add(reason);
      }),
    );
    return [...reasons].sort().map((reason) => ({
      label: reason,
      data: data.days.map((row) => (row.by_reason[reason] || {})[figure] || 0),
    }));
  };
  chart(document.getElementById("faucets-chart"), byReason("minted"), { stacked: true, unit: "gold" });
  chart(document.getElementById("sinks-chart"), byReason("burned"), { stacked: true, unit: "gold" });
  document.querySelectorAll("canvas.revenue-chart").forEach((canvas) => {
    const code = canvas.dataset.currency;
    const scale = 10 ** Number(canvas.dataset.digits); // minor units per major unit (KRW: 1)
    const series = (figure, sign = 1) =>
      data.days.map((row) => (sign * ((row.revenue_by_currency[code] || {})[figure] || 0)) / scale);
    chart(
      canvas,
      [
        { label: "sales", data: series("sales") },
        // A refund or chargeback counts on the day it happened, as a negative: past days never change.
        { label: "refunds", data: series("refunds", -1) },
        { label: "net revenue", data: series("net") },
      ],
      { unit: code },
    );
  });
  chart(document.getElementById("players-chart"), [
    { label: "active players", data: data.days.map((row) => row.active_players) },
  ]);
})();
