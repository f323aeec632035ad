import { useEffect, useMemo, useState } from 'react';
import { useDesk } from '../../state/use-desk';
import { DeskPicture } from './DeskPicture';
import { GpuCard } from './GpuCard';

export function DeskView() {
  const { desk } = useDesk();
  const now = useMinuteClock();
  const vms = desk?.vms;
  const vmNames = useMemo(() => (vms ?? []).map((v) => v.name), [vms]);
  if (!desk) return null;
  return (
    <div className="desk-view">
      <h1 className="visually-hidden">Desk</h1>
      <DeskPicture gpus={desk.gpus} monitors={desk.monitors} vms={desk.vms} />
      {desk.gpus.length === 0 ? <p>The config names no GPU. Add one under <code>gpus:</code> in baton.yaml.</p> : null}
      <div className="cards">
        {desk.gpus.map((g) => <GpuCard key={g.name} gpu={g} allMonitors={desk.monitors} vmNames={vmNames} now={now} />)}
      </div>
    </div>
  );
}

/** "last seen 3 min ago" moves on once a minute (a display clock, not a poll of anything). */
function useMinuteClock(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 60_000);
    return () => clearInterval(t);
  }, []);
  return now;
}
