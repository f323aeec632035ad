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
