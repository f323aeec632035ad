import { createContext, useContext, useSyncExternalStore } from 'react';
import type { DeskState, DeskStore } from './desk-store';

export const DeskStoreContext = createContext<DeskStore | null>(null);

export function useDeskStore(): DeskStore {
  const store = useContext(DeskStoreContext);
  if (!store) throw new Error('useDeskStore outside a DeskStoreContext provider');
  return store;
}

export function useDesk(): DeskState {
  const store = useDeskStore();
  return useSyncExternalStore(store.subscribe, store.getState, store.getState);
}

/** One part of the state; the component re-renders only when that part changes (by identity). */
export function useDeskSelector<T>(select: (state: DeskState) => T): T {
  const store = useDeskStore();
  return useSyncExternalStore(store.subscribe, () => select(store.getState()), () => select(store.getState()));
}
